"""What the Channel ingests and answers: results per second over HTTP and through
the Python API, and the latency of a query by task id, on a SQLite file and on
MongoDB (a FerretDB started here, on its SQLite handler), each beside the raw driver in
the same run. FerretDB's figures are functional only (its label and the JSON key
`mongo_server` say so): why follows.

Every store is prepared as the Seeker prepares one: the Givers registered and
the bench's job announced (a Channel refuses results of a job it was never told
of).

HTTP ingestion: a `channel serve` process (its own core) over a fresh store; 50
clients, each a Giver with its own aiohttp session, post their signed results
(JSON lines: header, then one record per line) with ChannelClient.post_result at
once. The Channel checks each as it streams, compresses its records and writes
concurrent posts in group commits (up to 256 per insert_many or SQLite
transaction). Results are 1 KiB and 100 KiB (the canonical JSON of their
records, text of words) and signed before the clock starts; a figure is
acknowledged results over wall time.

Direct ingestion: the same results through Channel.put_results in this process,
`--fill-batch` at a time, into a fresh store.

Baseline: the raw driver storing the same results, each into a fresh table or
collection keyed by result id with task_id indexed, the result's canonical JSON
uncompressed in one column: sqlite3 `executemany` in one transaction (WAL,
synchronous=NORMAL, as the Channel's file) and PyMongo's async `insert_many`.
The ratio raw/HTTP is printed (the goal is HTTP within 3x of raw).

Query: `results_for_tasks([task_id])` for random task ids, one at a time, after
filling a fresh store with 1 KiB results through put_results (a worker process
signs the next batch meanwhile): 500,000 on SQLite, 2,000 on MongoDB by
default; p50 and p99 in ms. Baseline: the raw driver's lookup of a whole row by
the indexed task_id (a SELECT; find_one) on the same data, the Channel's own
file or collection. The JSON keys name the count (`query_p99_ms_500k_sqlite`).
Filling the SQLite file is most of the run (put_results stores about 2,500
results/s there on 2 cores): `--query-results-sqlite 1000000` takes some four
minutes more, too long for a bench that should end within ten.

On MongoDB the Channel's own find is captured and explained beside the raw one.
FerretDB 1.x on its SQLite handler pushes no filter but `_id` equality down to
its backend and uses no index for a find: every query by task id, the Channel's
(`{task_id: {$in: [...]}}`) and the raw driver's (`{task_id: ...}`) alike,
decodes the whole collection, so its latency grows with the count (about 60 ms
per 1,000 results here). 1,000,000 results cannot be queried within a run, so
the MongoDB query runs at 2,000 by default and its keys say so
(`query_p99_ms_2k_mongo`). FerretDB's PostgreSQL handler does not change that:
it pushes plain equality down as `_jsonb->'task_id' @> ...`, which the btree
index it builds cannot serve, and leaves `$in` to FerretDB itself. A real
MongoDB answers both from the task_id index.

`--json` and `--smoke` are bench/_cli.py's.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import multiprocessing
import random
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import _cli  # noqa: E402
import aiohttp  # noqa: E402
import ferretdb  # noqa: E402
from bson import Binary  # noqa: E402
from pymongo import ASCENDING, AsyncMongoClient, monitoring  # noqa: E402
from pymongo.errors import PyMongoError  # noqa: E402

from channel.errors import ChannelError  # noqa: E402
from channel.service.client import ChannelClient  # noqa: E402
from channel.store.base import Channel  # noqa: E402
from channel.store.factory import open_channel  # noqa: E402
from channel.store.rows import JobPolicy  # noqa: E402
from channel.wire import canonical  # noqa: E402
from channel.wire.identity import Identity  # noqa: E402
from channel.wire.results import Ack, KeyOutcome, Result  # noqa: E402
from channel.wire.signing import sign_result  # noqa: E402

CHANNEL_BIN = Path(sys.executable).with_name("channel")
KIB = 1024
SIZES = {"1kb": KIB, "100kb": 100 * KIB}
QUERY_SIZE = "1kb"
JOB_ID = "bench-job"
RECORD_TEXT_BYTES = 800
TEXT_POOL_BYTES = 256 * KIB
VOCABULARY_WORDS = 2000
SERVE_START_TIMEOUT_S = 30.0
SERVE_STOP_TIMEOUT_S = 15.0
PORT_POLL_S = 0.05
MONGO_TIMEOUT_MS = 5000
RAW_SQLITE_SCHEMA = """
CREATE TABLE results (
    result_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    giver_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX results_by_task ON results (task_id);
"""
# The collection, and table, the Channel keeps its results in.
RESULTS = "results"
STORES = ("sqlite", "mongo")
# Sizes of a --smoke run: seconds, most of them FerretDB's and `channel serve`'s start-ups.
SMOKE = {
    "results_1kb": 200,
    "results_100kb": 20,
    "clients": 5,
    "query_results_sqlite": 200,
    "query_results_mongo": 50,
    "queries": 20,
    "fill_batch": 50,
}

# Signed results ---------------------------------------------------------------------


class Corpus:
    """Records that look scraped: titles, prices and text of words, so that they
    compress as scraped text does."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(seed)
        vocabulary = [
            "".join(self._rng.choices(string.ascii_lowercase, k=self._rng.randint(2, 10)))
            for _ in range(VOCABULARY_WORDS)
        ]
        words: list[str] = []
        length = 0
        while length < TEXT_POOL_BYTES:
            words.append(self._rng.choice(vocabulary))
            length += len(words[-1]) + 1
        self._pool = " ".join(words)
        self._serial = 0

    def _text(self, length: int) -> str:
        start = self._rng.randrange(len(self._pool) - length)
        return self._pool[start : start + length]

    def _record(self) -> dict[str, Any]:
        self._serial += 1
        return {
            "key": f"https://shop.example/item/{self._serial}",
            "data": {
                "title": self._text(40),
                "price": self._rng.randrange(100, 100_000) / 100,
                "text": "",
            },
        }

    def records(self, size_bytes: int) -> list[dict[str, Any]]:
        """Records whose canonical JSON is exactly `size_bytes` long."""
        records: list[dict[str, Any]] = []
        # "[" and "]", then each record and a comma between two.
        used = 1
        while True:
            record = self._record()
            cost = len(canonical.dumps(record)) + 1
            if used + cost > size_bytes:
                # The pool is ASCII words and spaces: a character is a byte, none escaped.
                last = records[-1]["data"]
                last["text"] += self._text(size_bytes - used)
                return records
            records.append(record)
            used += cost
            record["data"]["text"] = self._text(min(RECORD_TEXT_BYTES, size_bytes - used))
            used += len(record["data"]["text"])
            if used == size_bytes:
                return records


def signed_results(
    corpus: Corpus, givers: Sequence[Identity], size_bytes: int, task_ids: Iterable[str]
) -> list[Result]:
    """One signed result of `size_bytes` of records per task id, by the Givers in turn."""
    results = []
    for n, task_id in enumerate(task_ids):
        records = corpus.records(size_bytes)
        now = time.time()
        result = Result(
            result_id=uuid.uuid4().hex,
            task_id=task_id,
            job_id=JOB_ID,
            giver_id="",
            records=records,
            outcomes=[KeyOutcome(record["key"], True) for record in records],
            error=None,
            started_at=now,
            finished_at=now,
        )
        results.append(sign_result(givers[n % len(givers)], result))
    return results


def stored_rows(results: Iterable[Result]) -> list[tuple[str, str, str, str, float, bytes]]:
    """The rows the raw baselines store: the indexed fields and the canonical result."""
    now = time.time()
    return [
        (r.result_id, r.task_id, r.job_id, r.giver_id, now, canonical.dumps(r.to_wire()))
        for r in results
    ]


# Ingestion ---------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Tally:
    """Results acknowledged and refused, and the first refusal's message."""

    acked: int = 0
    failed: int = 0
    first_error: str = ""
    elapsed_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.acked / self.elapsed_s

    async def post_all(self, client: ChannelClient, results: Iterable[Result]) -> None:
        """Post every result with `client`, one after another."""
        for result in results:
            try:
                await client.post_result(result)
            except ChannelError as e:
                self.failed += 1
                self.first_error = self.first_error or str(e)
            else:
                self.acked += 1


async def prepared_store(url: str, givers: Iterable[Identity]) -> Channel:
    """The Channel at `url` with the Givers registered and the bench's job announced."""
    channel = await open_channel(url)
    try:
        for giver in givers:
            await channel.register_giver(giver.id, giver.public_key)
        await channel.put_job(JobPolicy(JOB_ID))
    except BaseException:
        await channel.close()
        raise
    return channel


@contextlib.asynccontextmanager
async def channel_service(store_url: str, log_path: Path) -> AsyncIterator[str]:
    """A `channel serve` process over `store_url` on a free port; yields its URL."""
    port = ferretdb.free_port()
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(CHANNEL_BIN),
            "serve",
            "--store",
            store_url,
            "--port",
            str(port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            await wait_for_listener(port, process, log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), SERVE_STOP_TIMEOUT_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def wait_for_listener(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + SERVE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise SystemExit(f"channel serve exited with code {process.returncode}; see {log}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(PORT_POLL_S)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise SystemExit(f"channel serve did not listen within {SERVE_START_TIMEOUT_S:.0f} s")


async def http_ingest(
    store_url: str, givers: Sequence[Identity], results: Sequence[Result], log: Path
) -> Tally:
    """Each Giver posts its own results over HTTP, all Givers at once."""
    channel = await prepared_store(store_url, givers)
    await channel.close()
    own = {giver.id: [r for r in results if r.giver_id == giver.id] for giver in givers}
    tally = Tally()
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(channel_service(store_url, log))
        clients = [
            (ChannelClient(url, await stack.enter_async_context(aiohttp.ClientSession())), posts)
            for posts in own.values()
        ]
        started = time.perf_counter()
        await asyncio.gather(*(tally.post_all(c, posts) for c, posts in clients))
        tally.elapsed_s = time.perf_counter() - started
    return tally


async def put_all(channel: Channel, results: Sequence[Result], batch: int) -> float:
    """Store `results` with put_results, `batch` at a time; the seconds it took."""
    started = time.perf_counter()
    for start in range(0, len(results), batch):
        await put_batch(channel, results[start : start + batch])
    return time.perf_counter() - started


async def put_batch(channel: Channel, results: Sequence[Result]) -> None:
    acks: list[Ack] = await channel.put_results(results)
    if len(acks) != len(results):
        raise SystemExit(f"put_results acknowledged {len(acks)} of {len(results)} results")


async def direct_ingest(
    store_url: str, givers: Sequence[Identity], results: Sequence[Result], batch: int
) -> float:
    """Results per second through Channel.put_results in this process."""
    channel = await prepared_store(store_url, givers)
    try:
        elapsed_s = await put_all(channel, results, batch)
    finally:
        await channel.close()
    return len(results) / elapsed_s


# Raw baselines -----------------------------------------------------------------------


class RawSqlite:
    """Plain sqlite3 on a SQLite file, set up as the Channel's file is."""

    def __init__(self, path: Path) -> None:
        # Used from one worker thread at a time, never from two at once.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def create(self) -> None:
        """Create the baseline's own table of results."""
        await asyncio.to_thread(self._create)

    def _create(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(RAW_SQLITE_SCHEMA)

    async def insert(self, results: Sequence[Result]) -> float:
        """Store the results' rows with executemany in one transaction; seconds taken."""
        rows = await asyncio.to_thread(stored_rows, results)
        return await asyncio.to_thread(self._insert, rows)

    def _insert(self, rows: list[tuple[str, str, str, str, float, bytes]]) -> float:
        started = time.perf_counter()
        self._db.execute("BEGIN")
        self._db.executemany(f"INSERT INTO {RESULTS} VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._db.execute("COMMIT")
        return time.perf_counter() - started

    async def lookup_ms(self, task_ids: Sequence[str]) -> list[float]:
        """The latency of a SELECT of a whole row by task id, for each of `task_ids`."""
        return await asyncio.to_thread(self._lookup_ms, task_ids)

    def _lookup_ms(self, task_ids: Sequence[str]) -> list[float]:
        taken = []
        for task_id in task_ids:
            started = time.perf_counter()
            row = self._db.execute(
                f"SELECT * FROM {RESULTS} WHERE task_id = ?", (task_id,)
            ).fetchone()
            taken.append((time.perf_counter() - started) * 1000)
            if row is None:
                raise SystemExit(f"raw sqlite3 has no row of task {task_id}")
        return taken

    async def close(self) -> None:
        await asyncio.to_thread(self._db.close)


class RawMongo:
    """PyMongo's async client on the results collection of the database `url` names."""

    def __init__(self, url: str) -> None:
        self._client: AsyncMongoClient = AsyncMongoClient(
            url, serverSelectionTimeoutMS=MONGO_TIMEOUT_MS
        )
        self._database = self._client.get_default_database()
        self._collection = self._database[RESULTS]

    async def create(self) -> None:
        """Index the baseline's own collection by task id."""
        await self._collection.create_index([("task_id", ASCENDING)])

    async def insert(self, results: Sequence[Result]) -> float:
        """Store the results' documents with one insert_many; seconds taken."""
        rows = await asyncio.to_thread(stored_rows, results)
        docs = [
            {
                "_id": result_id,
                "task_id": task_id,
                "job_id": job_id,
                "giver_id": giver_id,
                "received_at": received_at,
                "body": Binary(body),
            }
            for result_id, task_id, job_id, giver_id, received_at, body in rows
        ]
        started = time.perf_counter()
        await self._collection.insert_many(docs)
        return time.perf_counter() - started

    async def lookup_ms(self, task_ids: Sequence[str]) -> list[float]:
        """The latency of find_one by task id, for each of `task_ids`."""
        taken = []
        for task_id in task_ids:
            started = time.perf_counter()
            doc = await self._collection.find_one({"task_id": task_id})
            taken.append((time.perf_counter() - started) * 1000)
            if doc is None:
                raise SystemExit(f"raw PyMongo found no document of task {task_id}")
        return taken

    async def explain(self, query: dict[str, Any]) -> "Explained":
        """How FerretDB runs a find of `query` on the collection: whether it pushes the
        filter down to its SQLite file, and SQLite's plan (its detail lines)."""
        answer = await self._database.command(
            "explain", {"find": self._collection.name, "filter": query}, verbosity="queryPlanner"
        )
        plan = [line.partition("detail=")[2] for line in answer["queryPlanner"]["Plan"]]
        return Explained(query, answer["filterPushdown"], plan)

    async def close(self) -> None:
        await self._client.close()


@contextlib.asynccontextmanager
async def closing(raw: "RawSqlite | RawMongo") -> AsyncIterator["RawSqlite | RawMongo"]:
    try:
        yield raw
    finally:
        await raw.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Explained:
    """A find's filter, whether FerretDB pushed it down, and its plan's steps."""

    query: dict[str, Any]
    pushdown: bool
    plan: list[str]

    def __str__(self) -> str:
        return (
            f"{json.dumps(self.query)}: filterPushdown {self.pushdown}, plan {'; '.join(self.plan)}"
        )


class FindFilters(monitoring.CommandListener):
    """Keeps the filter of every find by task id sent by the clients this process opens
    once it is registered (pymongo's listeners are process-wide and stay registered)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        query = event.command.get("filter") if event.command_name == "find" else None
        if isinstance(query, dict) and "task_id" in query:
            self.seen.append(dict(query))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


# Query -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class QueryRun:
    count: int
    fill_s: float
    query_ms: list[float]
    raw_query_ms: list[float]
    # On MongoDB, the Channel's find and the raw one, as FerretDB runs them.
    explained: dict[str, Explained]


def signed_query_results(seed: str, pems: Sequence[bytes], start: int, stop: int) -> list[Result]:
    """The 1 KiB results of tasks query-`start` to query-`stop - 1`, signed by the Givers
    whose private keys `pems` holds; run in a worker process."""
    givers = [Identity.from_pem(pem) for pem in pems]
    task_ids = [f"query-{n}" for n in range(start, stop)]
    return signed_results(Corpus(seed), givers, SIZES[QUERY_SIZE], task_ids)


async def fill(
    channel: Channel, givers: Sequence[Identity], count: int, args: argparse.Namespace
) -> float:
    """Store `count` new 1 KiB results (tasks query-0, query-1, …) with put_results,
    `--fill-batch` at a time; the seconds put_results took.

    A worker process signs the next batch while this one is stored."""
    pems = [giver.to_pem() for giver in givers]
    batch = args.fill_batch
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def signed(start: int) -> asyncio.Future[list[Result]]:
        stop = min(start + batch, count)
        seed = f"{args.seed}/{start}"
        return loop.run_in_executor(pool, signed_query_results, seed, pems, start, stop)

    fill_s = 0.0
    upcoming = signed(0)
    try:
        for start in range(0, count, batch):
            results = await upcoming
            if start + batch < count:
                upcoming = signed(start + batch)
            fill_s += await put_all(channel, results, batch)
    finally:
        upcoming.cancel()
        await asyncio.to_thread(pool.shutdown, cancel_futures=True)
    return fill_s


async def time_queries(channel: Channel, task_ids: Sequence[str]) -> list[float]:
    """The latency of results_for_tasks for each task id, one at a time."""
    taken = []
    for task_id in task_ids:
        started = time.perf_counter()
        found = await channel.results_for_tasks([task_id])
        taken.append((time.perf_counter() - started) * 1000)
        if [r.task_id for r in found] != [task_id]:
            raise SystemExit(f"results_for_tasks gave {len(found)} results for {task_id}")
    return taken


async def query_run(
    scratch: "Scratch", store: str, givers: Sequence[Identity], args: argparse.Namespace
) -> QueryRun:
    """Fill a fresh Channel, time lookups of random task ids through it, then the raw
    driver's lookups of the same ids in the same file or collection."""
    count = getattr(args, f"query_results_{store}")
    sample = random.Random(args.seed).sample(range(count), min(args.queries, count))
    task_ids = [f"query-{n}" for n in sample]
    finds = FindFilters()
    if store == "mongo":
        monitoring.register(finds)
    channel = await prepared_store(scratch.store_url(store, "query"), givers)
    try:
        fill_s = await fill(channel, givers, count, args)
        query_ms = await time_queries(channel, task_ids)
    finally:
        await channel.close()
    async with closing(scratch.raw(store, "query")) as raw:
        raw_query_ms = await raw.lookup_ms(task_ids)
        explained = {}
        if isinstance(raw, RawMongo):
            # The Channel's finds came first, the raw ones last.
            explained = {
                "channel": await raw.explain(finds.seen[0]),
                "raw": await raw.explain(finds.seen[-1]),
            }
    return QueryRun(count, fill_s, query_ms, raw_query_ms, explained)


def p50_p99(taken_ms: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(taken_ms, n=100, method="inclusive")
    return statistics.median(taken_ms), cuts[98]


# The run -----------------------------------------------------------------------------


def report_ingest(
    store: str,
    label: str,
    http: Tally,
    direct_per_s: float,
    raw_s: float,
    count: int,
    servers: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    raw_per_s = count / raw_s
    ratio = raw_per_s / http.per_s
    print(
        f"ingest {label}, {servers[store]}: HTTP {http.per_s:,.0f} results/s "
        f"({http.acked:,} acknowledged in {http.elapsed_s:.2f} s by {args.clients} clients, "
        f"{http.failed} refused)",
        flush=True,
    )
    print(
        f"  direct put_results, {args.fill_batch} a call: {direct_per_s:,.0f} results/s",
        flush=True,
    )
    goal = "met" if ratio <= 3 else "missed"
    driver = "sqlite3 executemany" if store == "sqlite" else "PyMongo insert_many"
    print(
        f"  baseline, raw {driver}: {raw_per_s:,.0f} results/s; raw/HTTP {ratio:.1f}x "
        f"(goal within 3x: {goal})",
        flush=True,
    )
    if http.failed:
        print(f"  first refusal: {http.first_error}", flush=True)
    figures: dict[str, Any] = {
        f"http_results_per_s_{label}_{store}": round(http.per_s, 1),
        f"direct_results_per_s_{label}_{store}": round(direct_per_s, 1),
        f"raw_insert_many_per_s_{label}_{store}": round(raw_per_s, 1),
        f"raw_over_http_{label}_{store}": round(ratio, 2),
    }
    if http.failed:
        figures[f"http_refused_{label}_{store}"] = http.failed
    return figures


def report_query(store: str, run: QueryRun, server: str) -> dict[str, Any]:
    fill_per_s = run.count / run.fill_s
    p50, p99 = p50_p99(run.query_ms)
    raw_p50, raw_p99 = p50_p99(run.raw_query_ms)
    lookup = "find_one" if store == "mongo" else "SELECT"
    print(
        f"query results_for_tasks, {run.count:,} results on {server}: p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms ({len(run.query_ms)} queries); filled with put_results "
        f"at {fill_per_s:,.0f} results/s",
        flush=True,
    )
    print(
        f"  baseline, raw {lookup} by indexed task_id on the same data: p50 {raw_p50:.2f} ms, "
        f"p99 {raw_p99:.2f} ms",
        flush=True,
    )
    at = _cli.count_label(run.count)
    figures: dict[str, Any] = {
        f"query_results_{store}": run.count,
        f"query_p50_ms_{at}_{store}": round(p50, 3),
        f"query_p99_ms_{at}_{store}": round(p99, 3),
        f"raw_query_p50_ms_{at}_{store}": round(raw_p50, 3),
        f"raw_query_p99_ms_{at}_{store}": round(raw_p99, 3),
        f"query_fill_results_per_s_{store}": round(fill_per_s, 1),
    }
    for who, explained in run.explained.items():
        print(f"  explain, {who} find {explained}", flush=True)
        figures[f"{who}_find_pushdown_{store}"] = explained.pushdown
        figures[f"{who}_find_plan_{store}"] = explained.plan
    return figures


@dataclasses.dataclass(frozen=True, slots=True)
class Scratch:
    """Where this run's stores go: SQLite files in `work`, databases on FerretDB."""

    work: Path
    mongo_address: str
    suffix: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:8])

    def _sqlite_path(self, name: str) -> Path:
        return self.work / f"{name}.sqlite3"

    def _mongo_url(self, name: str) -> str:
        return f"mongodb://{self.mongo_address}/bench_{name}_{self.suffix}?directConnection=true"

    def store_url(self, store: str, name: str) -> str:
        if store == "sqlite":
            return f"sqlite:///{self._sqlite_path(name)}"
        return self._mongo_url(name)

    def raw(self, store: str, name: str) -> "RawSqlite | RawMongo":
        """The raw driver on the results of the store `name`."""
        if store == "sqlite":
            return RawSqlite(self._sqlite_path(name))
        return RawMongo(self._mongo_url(name))


async def run(scratch: Scratch, args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus(args.seed)
    givers = [Identity.generate() for _ in range(args.clients)]
    batches = {}
    for label, size_bytes in SIZES.items():
        count = getattr(args, f"results_{label}")
        task_ids = [f"{label}-{n}" for n in range(count)]
        batches[label] = await asyncio.to_thread(
            signed_results, corpus, givers, size_bytes, task_ids
        )
    mongo_server = await ferretdb.functional_only(scratch.mongo_address)
    servers = {"sqlite": "sqlite", "mongo": f"mongodb on {mongo_server}"}

    figures: dict[str, Any] = {
        "http_clients": args.clients,
        "fill_batch": args.fill_batch,
        "results_1kb": args.results_1kb,
        "results_100kb": args.results_100kb,
        "mongo_server": mongo_server,
    }
    for store in STORES:
        for label, results in batches.items():
            http = await http_ingest(
                scratch.store_url(store, f"http_{label}"),
                givers,
                results,
                scratch.work / f"serve-{store}-{label}.log",
            )
            direct_per_s = await direct_ingest(
                scratch.store_url(store, f"direct_{label}"), givers, results, args.fill_batch
            )
            async with closing(scratch.raw(store, f"raw_{label}")) as raw:
                await raw.create()
                raw_s = await raw.insert(results)
            figures |= report_ingest(
                store, label, http, direct_per_s, raw_s, len(results), servers, args
            )

    figures["queries"] = args.queries
    for store in STORES:
        query = await query_run(scratch, store, givers, args)
        figures |= report_query(store, query, servers[store])
    return figures


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results-1kb", type=positive, default=20_000, help="results of 1 KiB")
    parser.add_argument("--results-100kb", type=positive, default=2000, help="results of 100 KiB")
    parser.add_argument("--clients", type=positive, default=50, help="HTTP clients (Givers)")
    parser.add_argument(
        "--query-results-sqlite",
        type=positive,
        default=500_000,
        help="results stored on SQLite before queries",
    )
    parser.add_argument(
        "--query-results-mongo",
        type=positive,
        default=2000,
        help="results stored on MongoDB before queries",
    )
    parser.add_argument("--queries", type=positive, default=100, help="queries timed per store")
    parser.add_argument("--fill-batch", type=positive, default=1000, help="results per put_results")
    parser.add_argument("--seed", type=int, default=1)
    args = _cli.parse(parser, SMOKE)
    if args.queries < 2 or min(args.query_results_sqlite, args.query_results_mongo) < 2:
        parser.error("--queries and --query-results-* must be at least 2 (for percentiles)")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="seekgive-bench-") as tmp,
            ferretdb.running_ferretdb(Path(tmp) / "ferretdb") as address,
        ):
            figures = asyncio.run(run(Scratch(Path(tmp), address), args))
    except KeyboardInterrupt:
        print("channel bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    except (ferretdb.FerretDBError, ChannelError, PyMongoError, sqlite3.Error, OSError) as e:
        print(f"channel bench: {e}", file=sys.stderr)
        return 1
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
