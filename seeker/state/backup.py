"""`seeker backup` and `seeker restore`: a Seeker's whole state store and its
Channel's store in one file (seeker.state.archive), between any backends.

What goes in: every job with its blocks and claimed keys, Giver records and
admissions, the Seeker key, admission tokens, operators' credentials, the
scraper catalog, schedules and their runs; from the Channel, every Giver's
public key, job policies and reader tokens, and (unless left out) every
stored result with its records as stored. Not in: the leader lease, which a
Seeker takes afresh, and the Channel's datasets, which are published files
whose owners keep them.

A backup holds the leader lease of the state store while it reads, so no
Seeker leads (and writes) meanwhile; it refuses to start while one does. A
restore goes only to empty stores, checks the whole file first, and empties
both stores again if any write fails, so it lands whole or not at all. A
backup of an older schema is restored as that schema and then migrated as a
store of that schema would be; one of a newer schema is refused.
"""

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from channel.store.base import Channel
from channel.store.factory import open_channel, store_name
from channel.store.migrations import CHANNEL
from channel.store.readers import Reader
from channel.store.rows import JobPolicy, StoredResult
from channel.wire.release import SEEKGIVE_VERSION
from seeker.errors import BadBackup
from seeker.state.archive import FORMAT_VERSION, ArchiveWriter, checked_header, lines, summary
from seeker.state.base import StateStore
from seeker.state.factory import open_state
from seeker.state.migrations import STATE

log = logging.getLogger(__name__)

# How long the lease a backup or restore holds lasts unrenewed, and how often it
# is renewed: a backup that dies lets a Seeker lead again this soon.
LEASE_S = 30.0
PAGE = 1000
RESULT_BATCH = 100


@contextlib.asynccontextmanager
async def _no_leader(state: StateStore, what: str) -> AsyncIterator[None]:
    """Hold the state store's leader lease while the body runs; BadBackup if a
    Seeker holds it."""
    holder = f"{what} (process {os.getpid()})"
    leader = await state.take_leader(holder, "", time.time(), LEASE_S)
    if leader.holder != holder:
        raise BadBackup(
            f"a Seeker leads it ({leader.url or leader.holder}); stop every Seeker on it "
            f"before the {what}",
            path=store_name(state.url),
        )

    async def renew() -> None:
        while True:
            await asyncio.sleep(LEASE_S / 3)
            await state.take_leader(holder, "", time.time(), LEASE_S)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        # Expired now: the next Seeker to start leads at once.
        await state.take_leader(holder, "", time.time(), 0.0)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _write_state(state: StateStore, out: ArchiveWriter) -> None:
    for job in await state.jobs():
        await out.add("job", job)
        after = -1
        while page := await state.job_blocks(job["job_id"], after, PAGE):
            for block in page:
                await out.add("block", block)
            after = page[-1]["seq"]
        claimed: dict[int, list[str]] = {}
        for key, seq in await state.claimed_keys(job["job_id"], 0):
            claimed.setdefault(seq, []).append(key)
        for seq, keys in claimed.items():
            await out.add("job_keys", {"job_id": job["job_id"], "seq": seq, "keys": keys})
    pem = await state.stored_key()
    if pem is not None:
        await out.add("seeker_key", {"pem": pem})
    operators = await state.operators()
    if operators is not None:
        await out.add("operators", operators)
    for kind, docs in (
        ("giver", await state.givers()),
        ("admission", await state.admissions()),
        ("token", await state.tokens()),
        ("scraper", await state.scrapers()),
    ):
        for doc in docs:
            await out.add(kind, doc)
    for schedule in await state.schedules():
        await out.add("schedule", schedule)
        for run in await state.runs(schedule["schedule_id"]):
            await out.add("run", run)


async def _write_channel(channel: Channel, out: ArchiveWriter, *, results: bool) -> None:
    for giver_id, public_key in await channel.giver_keys():
        await out.add("giver_key", {"giver_id": giver_id, "public_key": public_key})
    for digest, reader in await channel.reader_entries():
        await out.add("reader", {"digest": digest, **asdict(reader)})
    for policy in await channel.job_policies():
        await out.add("job_policy", asdict(policy))
        if not results:
            continue
        async for row in channel.job_results(policy.job_id):
            chunks: list[bytes] = []
            if row.inline is None:
                chunks = [chunk async for chunk in channel.result_chunks(row.result_id)]
            doc = {
                **asdict(row),
                "header": _b64(row.header),
                "inline": None if row.inline is None else _b64(row.inline),
                "chunks": [_b64(chunk) for chunk in chunks],
            }
            await out.add("result", doc)


async def backup(path: Path, state_url: str, store_url: str, *, results: bool = True) -> str:
    """Write the stores at `state_url` and `store_url` to a new file `path`; what it
    holds, in one line."""
    state = await open_state(state_url)
    try:
        channel = await open_channel(store_url)
        try:
            header = {
                "seekgive": SEEKGIVE_VERSION,
                "schemas": {STATE.store: STATE.current, CHANNEL.store: CHANNEL.current},
                "created_at": time.time(),
                "results": results,
            }
            out = ArchiveWriter(path, header)
            async with _no_leader(state, "backup"):
                await out.open()
                try:
                    await _write_state(state, out)
                    await _write_channel(channel, out, results=results)
                    size = await out.finish()
                except BaseException:
                    await out.abandon()
                    raise
        finally:
            await channel.close()
    finally:
        await state.close()
    return f"{summary(out.kinds)} ({size} bytes)"


def _stored_result(doc: dict[str, Any]) -> tuple[StoredResult, list[bytes]]:
    inline = doc["inline"]
    row = StoredResult(
        result_id=doc["result_id"],
        task_id=doc["task_id"],
        job_id=doc["job_id"],
        giver_id=doc["giver_id"],
        received_at=doc["received_at"],
        expires_at=doc["expires_at"],
        header=base64.b64decode(doc["header"]),
        records=doc["records"],
        size_bytes=doc["size_bytes"],
        inline=None if inline is None else base64.b64decode(inline),
    )
    return row, [base64.b64decode(chunk) for chunk in doc["chunks"]]


async def _put(state: StateStore, channel: Channel, kind: str, doc: dict[str, Any]) -> None:
    """Store one line of a backup where it belongs."""
    if kind == "job":
        # The restored Channel numbers the job's results anew: read them from the start.
        await state.put_job({k: v for k, v in doc.items() if k != "result_cursors"})
    elif kind == "job_keys":
        keys = doc["keys"]
        await state.claim_keys(doc["job_id"], keys, doc["seq"], len(keys), len(keys))
    elif kind == "seeker_key":
        await state.seeker_key(doc["pem"])
    elif kind == "operators":
        # Into an empty store the credentials go at version 1, their first.
        await state.replace_operators({**doc, "version": 1})
    elif kind == "giver":
        await state.put_givers([doc])
    elif kind == "admission":
        await state.admit(doc)
    elif kind == "token":
        await state.insert_token(doc)
    elif kind == "scraper":
        await state.put_scraper(doc)
    elif kind == "schedule":
        await state.insert_schedule(doc)
    elif kind == "run":
        await state.put_run(doc)
    elif kind == "giver_key":
        await channel.register_giver(doc["giver_id"], doc["public_key"])
    elif kind == "reader":
        fields = {**doc, "jobs": tuple(doc["jobs"]), "datasets": tuple(doc["datasets"])}
        del fields["digest"]
        await channel.put_reader_entry(doc["digest"], Reader(**fields))
    elif kind == "job_policy":
        await channel.put_job(JobPolicy(**doc))
    else:
        raise KeyError(f"no kind {kind!r}")


async def _write_lines(path: Path, state: StateStore, channel: Channel) -> Counter[str]:
    """Store every line of the backup `path`; how many of each kind."""
    kinds: Counter[str] = Counter()
    blocks: list[dict[str, Any]] = []
    results: list[tuple[StoredResult, list[bytes]]] = []
    async for batch in lines(path):
        for line in batch:
            kind, doc = line["kind"], line["doc"]
            kinds[kind] += 1
            try:
                if kind == "block":
                    blocks.append(doc)
                elif kind == "result":
                    results.append(_stored_result(doc))
                else:
                    await _put(state, channel, kind, doc)
            except (KeyError, TypeError, ValueError) as e:
                raise BadBackup(f"a {kind} line is malformed: {e}", path=str(path)) from e
        await state.insert_blocks(blocks)
        await channel.restore_results(results)
        blocks, results = [], []
    return kinds


async def restore(path: Path, state_url: str, store_url: str) -> str:
    """Fill the empty stores at `state_url` and `store_url` from the backup `path`;
    what it held, in one line."""
    header = await checked_header(path)
    if header.get("version", 0) > FORMAT_VERSION:
        raise BadBackup(
            f"is in backup format {header.get('version')}, newer than this seekgive's "
            f"{FORMAT_VERSION}: upgrade seekgive to {header.get('seekgive')} or newer",
            path=str(path),
        )
    schemas, written_by = header.get("schemas", {}), str(header.get("seekgive", ""))
    found = {versions: int(schemas.get(versions.store, 0)) for versions in (STATE, CHANNEL)}
    for versions, version in found.items():
        versions.check(f"in the backup {path}", version, written_by)
    state = await open_state(state_url)
    try:
        channel = await open_channel(store_url)
        try:
            for store in (state, channel):
                if not await store.empty():
                    raise BadBackup(
                        f"{store_name(store.url)} is not empty: restore into a new file "
                        "or database",
                        path=str(path),
                    )
            async with _no_leader(state, "restore"):
                try:
                    kinds = await _write_lines(path, state, channel)
                    await state.set_schema_version(found[STATE])
                    await channel.set_schema_version(found[CHANNEL])
                except BaseException:
                    await state.wipe()
                    await channel.wipe()
                    raise
        finally:
            await channel.close()
    finally:
        await state.close()
    # Open each store once more: one the backup left at an older schema is migrated.
    await (await open_state(state_url)).close()
    await (await open_channel(store_url)).close()
    return summary(kinds)
