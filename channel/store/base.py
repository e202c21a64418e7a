"""The Channel interface: public methods written once, backends fill in storage.

A backend implements the private `_…` methods over its own engine; checking,
verifying, compressing and paging happen here, so every backend behaves the
same.
"""

import asyncio
import time
from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from types import TracebackType

from channel.errors import InvalidResult, ResultConflict, UnknownJob, WireError
from channel.store.batching import Batcher
from channel.store.datasets import DatasetStore
from channel.store.ingest import (
    Inflater,
    Intake,
    KeptResults,
    SizeLimits,
    header_line,
    inflate,
    without_capture,
)
from channel.store.inventory import Inventory
from channel.store.readers import Reader, new_reader_token, token_id_of
from channel.store.rows import JobPolicy, ResultPage, StoredResult
from channel.wire import canonical
from channel.wire.results import Ack, Result
from channel.wire.signing import verify_signature
from channel.wire.tokens import TokenRequest, check_request, digest

PAGE_LIMIT = 1000
# Task ids per query for their results (SQLite allows some 32,000 parameters).
TASK_QUERY_BATCH = 500
# On a store where writers take a number and insert it later (MongoDB), a page
# stops before a missing number until the result after it is this old, so a
# reader following a job never steps over a result still being written.
SETTLE_S = 10.0
# Records of at most this many compressed bytes stay in their result's row.
INLINE_BYTES = 64 * 1024
# Records larger than this are checked off the event loop.
OFF_LOOP_BYTES = 256 * 1024


class Channel(DatasetStore, Inventory):
    """The results store between Givers and the Seeker, and the datasets people share."""

    url: str
    limits: SizeLimits = SizeLimits()

    def __init__(self) -> None:
        self._writer: Batcher[tuple[StoredResult, list[bytes]], StoredResult] = Batcher(
            self._insert_results
        )
        self._jobs: dict[str, JobPolicy] = {}
        self._giver_keys: dict[str, str] = {}
        self._kept: KeptResults | None = None

    def keep_results(self, max_bytes: int) -> None:
        """From now on, keep the results this process takes in whole and parsed, up
        to `max_bytes` of records, for `load` to return without reading them back:
        for a process that reads what it takes in (the Seeker counting results)."""
        self._kept = KeptResults(max_bytes)

    async def register_giver(self, giver_id: str, public_key: str) -> None:
        """Record the public key results from `giver_id` must be signed with."""
        await self._put_giver_key(giver_id, public_key)

    async def issue_reader(
        self,
        *,
        label: str = "",
        jobs: tuple[str, ...] = (),
        datasets: tuple[str, ...] = (),
        upload: bool = False,
        expires_in_s: float | None = None,
    ) -> tuple[str, Reader]:
        """A new reader token (shown only now) and what it may do."""
        if not (jobs or datasets or upload):
            raise WireError("a reader token must name a job or a dataset, or allow uploads")
        check_request(TokenRequest(label, expires_in_s))
        token, now = new_reader_token(), time.time()
        hashed = digest(token)
        reader = Reader(
            token_id=token_id_of(hashed),
            label=label,
            jobs=jobs,
            datasets=datasets,
            upload=upload,
            created_at=now,
            expires_at=None if expires_in_s is None else now + expires_in_s,
        )
        await self._put_reader(hashed, reader)
        return token, reader

    async def reader(self, token: str) -> Reader | None:
        """The reader a token belongs to, while it is neither revoked nor expired."""
        reader = await self._reader(digest(token))
        return reader if reader is not None and reader.valid(time.time()) else None

    async def readers(self) -> list[Reader]:
        """Every reader token ever issued, oldest first."""
        return await self._readers()

    async def revoke_reader(self, token_id: str) -> Reader | None:
        """Revoke a reader token by its id; the revoked reader, or None if unknown."""
        return await self._revoke_reader(token_id)

    async def put_job(self, policy: JobPolicy) -> JobPolicy:
        """Announce a job whose results may be stored; a job's policy never changes,
        so announcing it again returns the policy it was first given."""
        stored = await self._put_job(policy)
        self._jobs[stored.job_id] = stored
        return stored

    async def job(self, job_id: str) -> JobPolicy | None:
        """The policy of an announced job."""
        policy = self._jobs.get(job_id)
        if policy is None and (policy := await self._job(job_id)) is not None:
            self._jobs[job_id] = policy
        return policy

    async def begin(self, result: Result) -> Intake:
        """Check a result's header before its records are read: the Intake to feed
        them to.

        Raises InvalidResult for an unregistered Giver or a bad signature, and
        UnknownJob for a job never announced. A result stored before is found
        when it is committed (the same header: its Ack again; another:
        ResultConflict), so a post costs the store one batched write.
        """
        public_key = await self._public_key(result.giver_id)
        if public_key is None:
            raise InvalidResult(
                f"result {result.result_id}: giver {result.giver_id} is not registered",
                result_id=result.result_id,
                giver_id=result.giver_id,
            )
        verify_signature(result, public_key)
        policy = await self.job(result.job_id)
        if policy is None:
            raise UnknownJob(result.job_id)
        return Intake(result, self.limits, sealed=policy.sealed, keep=self._kept is not None)

    async def _public_key(self, giver_id: str) -> str | None:
        # A Giver's id derives from its key, so the key stored for an id never changes.
        key = self._giver_keys.get(giver_id)
        if key is None and (key := await self._giver_key(giver_id)) is not None:
            self._giver_keys[giver_id] = key
        return key

    async def commit(self, intake: Intake) -> Ack:
        """Store the records fed to `intake` once their digest matches the header's."""
        records = intake.finish()
        result = intake.result
        policy = self._jobs[result.job_id]
        now = time.time()
        small = len(records.chunks) == 1 and len(records.chunks[0]) <= INLINE_BYTES
        row = StoredResult(
            result_id=result.result_id,
            task_id=result.task_id,
            job_id=result.job_id,
            giver_id=result.giver_id,
            received_at=now,
            expires_at=now + policy.retention_s if policy.retention_s is not None else None,
            header=header_line(result),
            records=records.count,
            size_bytes=records.size_bytes,
            inline=records.chunks[0] if small else None,
        )
        if self._kept is not None:
            # Kept before it is written, so a reader that finds the row finds it kept.
            self._kept.keep(intake, row.header)
        stored = await self._writer.submit((row, [] if small else records.chunks))
        return _ack(stored, row.header)

    async def put_result(self, result: Result) -> Ack:
        """Verify and store `result`; posting the same result again is harmless."""
        begun = await self.begin(result)
        lines = [canonical.dumps(record) for record in result.records]
        if sum(map(len, lines)) > OFF_LOOP_BYTES:
            await asyncio.to_thread(begun.add, lines)
        else:
            begun.add(lines)
        return await self.commit(begun)

    async def put_results(self, results: Iterable[Result]) -> list[Ack]:
        """Store many results at once (they share store calls); acks in order."""
        return list(await asyncio.gather(*(self.put_result(r) for r in results)))

    async def results_for_tasks(self, task_ids: Iterable[str]) -> list[Result]:
        """Every stored result of the given tasks (a task may have several)."""
        return [await self.load(row) for row in await self.result_rows(task_ids)]

    async def result_rows(self, task_ids: Iterable[str]) -> list[StoredResult]:
        """The rows (headers, without records) of every stored result of the tasks,
        asked TASK_QUERY_BATCH tasks at a time."""
        ids = list(task_ids)
        rows: list[StoredResult] = []
        for start in range(0, len(ids), TASK_QUERY_BATCH):
            rows += await self._find_by_tasks(ids[start : start + TASK_QUERY_BATCH])
        return rows

    async def result(self, result_id: str) -> StoredResult | None:
        """A stored result's row (its header, without records)."""
        return await self._result(result_id)

    async def results_page(
        self, job_id: str, *, after: int = 0, limit: int = PAGE_LIMIT, now: float | None = None
    ) -> ResultPage:
        """Up to `limit` of a job's results stored after the cursor `after`.

        Following the cursor from 0, while results keep arriving, yields each
        stored result exactly once.
        """
        rows = await self._page(job_id, after, limit)
        now = time.time() if now is None else now
        taken: list[StoredResult] = []
        expected = after + 1
        for row in rows:
            if row.seq != expected and now - row.received_at < SETTLE_S:
                break
            taken.append(row)
            expected = row.seq + 1
        return ResultPage(taken, taken[-1].seq if taken else after)

    async def job_results(self, job_id: str) -> AsyncIterator[StoredResult]:
        """Every stored result of a job, one page at a time."""
        cursor = 0
        while True:
            page = await self.results_page(job_id, after=cursor)
            for row in page.results:
                yield row
            if len(page.results) < PAGE_LIMIT:
                return
            cursor = page.cursor

    async def record_lines(
        self, row: StoredResult, *, full: bool = True
    ) -> AsyncGenerator[bytes, None]:
        """A stored result's records as canonical JSON lines, a chunk at a time;
        without their debug captures unless `full`."""
        if row.inline is not None:
            for line in inflate([row.inline]):
                yield line if full else without_capture(line)
            return
        inflater = Inflater()
        async for chunk in self._chunks(row.result_id):
            for line in inflater.feed(chunk):
                yield line if full else without_capture(line)
        for line in inflater.end():
            yield line if full else without_capture(line)

    async def load(self, row: StoredResult) -> Result:
        """The whole result a row holds, records included."""
        kept = self._kept.take(row) if self._kept is not None else None
        if kept is not None:
            return kept
        # One parse for all the records: a result may hold thousands of small ones.
        lines = [line async for line in self.record_lines(row)]
        records = canonical.loads(b"[" + b",".join(lines) + b"]")
        return Result.from_stored(canonical.loads(row.header), records)

    async def put_reader_entry(self, digest: str, reader: Reader) -> None:
        """Store a reader token as `reader_entries` lists it (restoring a backup)."""
        await self._put_reader(digest, reader)

    def result_chunks(self, result_id: str) -> AsyncIterator[bytes]:
        """The compressed chunks of a result whose records are not inline, in order."""
        return self._chunks(result_id)

    async def restore_results(self, batch: list[tuple[StoredResult, list[bytes]]]) -> None:
        """Store results as their rows and `result_chunks` gave them, numbered after
        their jobs' last (restoring a backup); one stored already is left as it is."""
        await self._insert_results(batch)

    async def sweep(self, now: float | None = None) -> int:
        """Remove results whose job's retention has passed; how many were removed."""
        return await self._sweep(time.time() if now is None else now)

    async def delete_job(self, job_id: str) -> int:
        """Remove a job's results (their chunks first) and then its policy, so a
        deletion cut short is finished by repeating it; how many results went."""
        removed = await self._delete_job(job_id)
        self._jobs.pop(job_id, None)
        return removed

    async def ping(self) -> None:
        """One cheap round trip to the store, to tell it answers; StoreUnavailable if
        it does not."""
        await self._ping()

    async def close(self) -> None:
        """Finish pending writes and release the backend's connections; safe twice."""
        await self._writer.close()
        await self._close()

    async def __aenter__(self) -> "Channel":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def _open(self) -> None:
        """Connect and create tables or indexes; called once by the factory."""

    @abstractmethod
    async def _put_giver_key(self, giver_id: str, public_key: str) -> None: ...

    @abstractmethod
    async def _giver_key(self, giver_id: str) -> str | None: ...

    @abstractmethod
    async def _put_reader(self, digest: str, reader: Reader) -> None: ...

    @abstractmethod
    async def _reader(self, digest: str) -> Reader | None: ...

    @abstractmethod
    async def _readers(self) -> list[Reader]: ...

    @abstractmethod
    async def _revoke_reader(self, token_id: str) -> Reader | None: ...

    @abstractmethod
    async def _put_job(self, policy: JobPolicy) -> JobPolicy:
        """Store `policy` unless its job is known; return the job's stored policy."""

    @abstractmethod
    async def _job(self, job_id: str) -> JobPolicy | None: ...

    @abstractmethod
    async def job_policies(self) -> list[JobPolicy]:
        """Every announced job's policy, by job id."""

    @abstractmethod
    async def _result(self, result_id: str) -> StoredResult | None: ...

    @abstractmethod
    async def _insert_results(
        self, batch: list[tuple[StoredResult, list[bytes]]]
    ) -> list[StoredResult]:
        """Insert each row (numbered after its job's last, its chunks beside it) unless
        its id exists; return, in order, the row now stored under each id."""

    @abstractmethod
    async def _find_by_tasks(self, task_ids: list[str]) -> list[StoredResult]: ...

    @abstractmethod
    async def _page(self, job_id: str, after: int, limit: int) -> list[StoredResult]:
        """A job's rows numbered above `after`, in number order."""

    @abstractmethod
    def _chunks(self, result_id: str) -> AsyncIterator[bytes]:
        """The compressed chunks of a result stored in chunks, in order."""

    @abstractmethod
    async def _sweep(self, now: float) -> int: ...

    @abstractmethod
    async def _delete_job(self, job_id: str) -> int: ...

    @abstractmethod
    async def _ping(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...


def _ack(stored: StoredResult, header: bytes) -> Ack:
    if stored.header != header:
        raise ResultConflict(stored.result_id)
    return Ack(result_id=stored.result_id, received_at=stored.received_at)
