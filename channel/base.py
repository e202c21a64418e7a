"""The Channel interface: public methods written once, backends fill in storage.

A backend implements the private `_…` methods over its own engine; checking,
verifying and decoding happen here, so every backend behaves the same.
"""

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

from channel import canonical
from channel.errors import InvalidResult, ResultConflict
from channel.models import Ack, Result
from channel.signing import verify_result

JOB_PAGE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A result as a backend keeps it: indexed fields and the canonical bytes."""

    result_id: str
    task_id: str
    job_id: str
    giver_id: str
    received_at: float
    body: bytes


class Channel(ABC):
    """The results store between Givers and the Seeker."""

    url: str

    async def register_giver(self, giver_id: str, public_key: str) -> None:
        """Record the public key results from `giver_id` must be signed with."""
        await self._put_giver_key(giver_id, public_key)

    async def put_result(self, result: Result) -> Ack:
        """Verify and store `result`; posting the same result again is harmless.

        Raises InvalidResult for an unregistered Giver or a bad digest or
        signature, and ResultConflict when the id was stored with other content.
        Nothing is stored unless every check passed.
        """
        public_key = await self._giver_key(result.giver_id)
        if public_key is None:
            raise InvalidResult(
                f"result {result.result_id}: giver {result.giver_id} is not registered",
                result_id=result.result_id,
                giver_id=result.giver_id,
            )
        verify_result(result, public_key)
        body = canonical.dumps(result.to_wire())
        stored = await self._insert_result(
            StoredResult(
                result_id=result.result_id,
                task_id=result.task_id,
                job_id=result.job_id,
                giver_id=result.giver_id,
                received_at=time.time(),
                body=body,
            )
        )
        if stored.body != body:
            raise ResultConflict(result.result_id)
        return Ack(result_id=stored.result_id, received_at=stored.received_at)

    async def results_for_tasks(self, task_ids: Iterable[str]) -> list[Result]:
        """Every stored result of the given tasks (a task may have several)."""
        ids = list(task_ids)
        if not ids:
            return []
        return [_decode(body) for body in await self._find_by_tasks(ids)]

    async def results_for_job(
        self, job_id: str, *, after: str = "", limit: int = JOB_PAGE_LIMIT
    ) -> list[Result]:
        """One page of a job's results in result id order, after the id `after`."""
        return [_decode(body) for body in await self._find_by_job(job_id, after, limit)]

    async def close(self) -> None:
        """Release the backend's connections; safe to call twice."""
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
    async def _insert_result(self, row: StoredResult) -> StoredResult:
        """Insert `row` unless its id exists; return the row now stored under the id."""

    @abstractmethod
    async def _find_by_tasks(self, task_ids: list[str]) -> list[bytes]: ...

    @abstractmethod
    async def _find_by_job(self, job_id: str, after: str, limit: int) -> list[bytes]: ...

    @abstractmethod
    async def _close(self) -> None: ...


def _decode(body: bytes) -> Result:
    return Result.from_wire(canonical.loads(body))
