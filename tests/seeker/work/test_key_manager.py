"""The key manager on every state store backend: leases, retries, invalidation,
restarts, dump and load, chained jobs and bad input.

The clock is passed in, so lapses and backoffs are tested without waiting.
"""

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from support.rig import GRACE_S, NOW, Rig, lease_one

from channel.errors import WireError
from channel.wire import canonical, sealing
from channel.wire.models import Task
from channel.wire.results import KeyOutcome
from giver.sandbox.outputs import ScraperOutput
from giver.tasks.execution import signed
from seeker.errors import InvalidJob, InvalidState, JobConflict, UnknownBlock
from seeker.state.factory import open_state
from seeker.work.intake import create_job
from seeker.work.jobs import Job, JobStatus
from seeker.work.manager import KeyManager
from seeker.work.spec import parse_job
from seeker.work.statefile import dump_state, load_state


def counts(job: Job) -> tuple[int, int, int, int]:
    c = job.counts()
    assert c["done"] + c["failed"] + c["leased"] + c["pending"] == c["total"]
    return c["done"], c["failed"], c["leased"], c["pending"]


async def test_ranges_are_cut_as_they_are_leased_and_counted_exactly(rig: Rig) -> None:
    job = await rig.job(ranges=[[0, 250], [1000, 1100]], block_size=100)
    assert (job.total, job.block_count, counts(job)) == (350, 4, (0, 0, 0, 350))
    for expected in ((0, 100), (100, 200)):
        task = await rig.complete(job, "A")
        assert (task.block.start, task.block.stop) == expected
    across = await rig.lease(job, "B")
    assert list(across.block)[49:51] == ["249", "1000"]
    assert counts(job) == (200, 0, 100, 50)


async def test_a_lapsed_lease_returns_its_keys_and_its_late_result_is_ignored(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b", "c"], block_size=3)
    first = await rig.lease(job, "A")
    deadline = NOW + 100 + GRACE_S
    assert await rig.keys.expire(deadline - 1) == []
    assert [ref.task_id for ref in await rig.keys.expire(deadline)] == [first.task_id]
    assert counts(job) == (0, 0, 0, 3)
    second = await rig.lease(job, "B", deadline)
    assert second.task_id != first.task_id
    assert not await rig.keys.apply(await rig.report(first, "A"), deadline)
    assert counts(job) == (0, 0, 3, 0)
    assert await rig.keys.apply(await rig.report(second, "B"), deadline)
    assert counts(job) == (3, 0, 0, 0) and job.status is JobStatus.DONE
    records = [r async for result in rig.keys.counted_results(job.job_id) for r in result.records]
    assert sorted(r["key"] for r in records) == ["a", "b", "c"]


async def test_progress_keeps_a_lease_alive(rig: Rig) -> None:
    job = await rig.job(keys=["a"])
    task = await rig.lease(job, "A")
    late = NOW + 100 + GRACE_S - 1
    await rig.keys.renew(task.task_id, rig.givers["A"].id, 1, late)
    assert await rig.keys.expire(late + GRACE_S) == []
    assert rig.keys.leases[task.task_id].progress == 1


async def test_leases_lapse_soonest_first_and_a_renewed_one_only_at_its_new_deadline(
    rig: Rig,
) -> None:
    job = await rig.job(keys=[str(n) for n in range(4)], block_size=1)
    first, renewed, third = [await rig.lease(job, "A", NOW + n) for n in range(3)]
    later = await rig.lease(job, "B", NOW + 3)
    lapse = NOW + 100 + GRACE_S
    await rig.keys.renew(renewed.task_id, rig.givers["A"].id, 1, lapse)
    assert await rig.keys.release(third.task_id, rig.givers["A"].id)
    lapsed = await rig.keys.expire(lapse + 3)
    assert [ref.task_id for ref in lapsed] == [first.task_id, later.task_id]
    assert await rig.keys.expire(lapse + 2 * GRACE_S - 1) == []
    assert [ref.task_id for ref in await rig.keys.expire(lapse + 2 * GRACE_S)] == [renewed.task_id]
    assert not rig.keys.leases and counts(job) == (0, 0, 0, 4)


async def test_a_lapsed_lease_the_store_failed_to_take_back_lapses_again(rig: Rig) -> None:
    job = await rig.job(keys=["a"])
    task = await rig.lease(job, "A")
    lapse = NOW + 100 + GRACE_S
    store = rig.keys.store
    replace_block = store.replace_block

    async def failing(doc: dict[str, Any]) -> bool:
        raise InvalidState("the store is away")

    store.replace_block = failing  # type: ignore[method-assign]
    with pytest.raises(InvalidState):
        await rig.keys.expire(lapse)
    store.replace_block = replace_block  # type: ignore[method-assign]
    assert [ref.task_id for ref in await rig.keys.expire(lapse + 1)] == [task.task_id]


async def test_release_returns_the_block_at_once_and_a_refusal_keeps_the_giver_off(
    rig: Rig,
) -> None:
    job = await rig.job(keys=["a", "b"])
    task = await rig.lease(job, "A")
    assert not await rig.keys.release(task.task_id, rig.givers["B"].id)
    assert await rig.keys.release(task.task_id, rig.givers["A"].id)
    assert counts(job) == (0, 0, 0, 2)
    task = await rig.lease(job, "B")
    assert await rig.keys.refused(task.task_id, rig.givers["B"].id, "no such image", NOW)
    (block,) = await rig.keys.ready(job, NOW, 5)
    assert block.refused == {rig.givers["B"].id: "no such image"}


async def test_a_giver_invalidation_discards_what_it_reported(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], max_attempts=2, retry_backoff_s=0)
    task = await rig.lease(job, "A")
    assert await rig.keys.apply(await rig.report(task, "A"), NOW)
    assert counts(job) == (2, 0, 0, 0)
    giver_a = rig.givers["A"].id
    assert not await rig.keys.invalidate_task(task.task_id, rig.givers["B"].id, "no", NOW)
    assert await rig.keys.invalidate_task(task.task_id, giver_a, "parser crashed", NOW)
    assert counts(job) == (0, 0, 0, 2) and job.status is JobStatus.RUNNING
    assert [r async for r in rig.keys.counted_results(job.job_id)] == []
    retry = await rig.lease(job, "B")
    assert await rig.keys.invalidate_task(retry.task_id, rig.givers["B"].id, "again", NOW)
    assert counts(job) == (0, 2, 0, 0)
    assert {f.reason for f in job.failures} == {"invalidated by giver: again"}


async def test_failed_keys_are_retried_after_a_backoff_then_fail_for_good(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b", "c"], max_attempts=2, retry_backoff_s=30)
    task = await rig.lease(job, "A")
    assert await rig.keys.apply(await rig.report(task, "A", {"b": "HTTP 503"}), NOW)
    assert counts(job) == (2, 0, 0, 1)
    assert await rig.keys.ready(job, NOW + 29, 5) == []
    retry = await rig.lease(job, "B", NOW + 30)
    assert list(retry.block) == ["b"]
    assert await rig.keys.apply(await rig.report(retry, "B", {"b": "HTTP 404"}), NOW + 30)
    assert counts(job) == (2, 1, 0, 0) and job.status is JobStatus.DONE
    assert [(f.key, f.reason) for f in job.failures] == [("b", "HTTP 404")]


async def test_operator_invalidation_of_a_block_and_of_a_givers_work(rig: Rig) -> None:
    job = await rig.job(keys=[f"k{n}" for n in range(6)], block_size=2)
    for giver in ("A", "B", "A"):
        await rig.complete(job, giver, NOW + 10)
    assert counts(job) == (6, 0, 0, 0) and job.status is JobStatus.DONE
    await rig.keys.invalidate_block(job.job_id, 1, NOW + 20)
    assert counts(job) == (4, 0, 0, 2) and job.status is JobStatus.RUNNING
    with pytest.raises(UnknownBlock):
        await rig.keys.invalidate_block(job.job_id, 9, NOW)
    held = await rig.lease(job, "A", NOW + 30)
    changed, taken = await rig.keys.invalidate_giver(rig.givers["A"].id, NOW + 5, NOW + 40)
    assert changed == 3 and [ref.task_id for ref in taken] == [held.task_id]
    assert counts(job) == (0, 0, 0, 6)
    nothing, _ = await rig.keys.invalidate_giver(rig.givers["A"].id, NOW + 50, NOW + 50)
    assert nothing == 0


async def test_pause_resume_and_cancel(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], block_size=1)
    task = await rig.lease(job, "A")
    await rig.keys.set_status(job.job_id, JobStatus.PAUSED, NOW)
    assert job.status is JobStatus.PAUSED
    await rig.keys.set_status(job.job_id, JobStatus.RUNNING, NOW)
    taken = await rig.keys.set_status(job.job_id, JobStatus.CANCELLED, NOW)
    assert [ref.task_id for ref in taken] == [task.task_id]
    assert counts(job) == (0, 0, 0, 2) and rig.keys.leases == {}
    with pytest.raises(JobConflict, match="is cancelled; it cannot be resumed"):
        await rig.keys.set_status(job.job_id, JobStatus.RUNNING, NOW)


async def test_a_restart_loads_exact_counts_and_live_leases(rig: Rig) -> None:
    job = await rig.job(range=[0, 1000], block_size=100, max_attempts=1)
    await rig.complete(job, "A")
    leased = await rig.lease(job, "B")
    failing = await rig.lease(job, "C")
    assert await rig.keys.apply(await rig.report(failing, "C", {"250": "bad"}), NOW)
    assert counts(job) == (199, 1, 100, 700)
    state = await open_state(rig.state_url)
    try:
        again = KeyManager(state, rig.channel, lease_grace_s=GRACE_S)
        await again.load(NOW)
        reloaded = await again.job(job.job_id)
        assert counts(reloaded) == (199, 1, 100, 700)
        assert list(again.leases) == [leased.task_id]
        assert reloaded.next_seq == 3
        assert await again.apply(await rig.report(leased, "B"), NOW)
        assert counts(reloaded) == (299, 1, 0, 700)
    finally:
        await state.close()


async def test_a_job_left_half_created_by_a_crash_is_removed_on_start(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], block_size=1)
    doc = {**job.to_doc(), "status": "creating"}
    await rig.keys.store.put_job(doc)
    again = KeyManager(rig.keys.store, rig.channel, lease_grace_s=GRACE_S)
    await again.load(NOW)
    assert again.jobs == {} and await rig.keys.store.jobs() == []
    assert await rig.keys.store.job_blocks(job.job_id, -1, 10) == []


async def test_a_done_range_job_reopened_after_a_restart_leases_only_its_open_block(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 300], block_size=100)
    for _ in range(3):
        await rig.complete(job, "A")
    assert job.status is JobStatus.DONE
    again = KeyManager(rig.keys.store, rig.channel, lease_grace_s=GRACE_S)
    await again.load(NOW)
    reloaded = await again.job(job.job_id)
    assert reloaded.next_seq == 3
    await again.invalidate_block(job.job_id, 1, NOW)
    (block,) = await again.ready(reloaded, NOW, 10)
    assert block.seq == 1
    leased = await lease_one(again, reloaded, block, rig.givers["B"].id)
    assert leased is not None and leased.task_id.endswith("-000001.1")
    assert counts(reloaded) == (200, 0, 100, 0)


async def test_a_lease_is_not_given_once_the_job_is_paused(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], block_size=1)
    blocks = await rig.keys.ready(job, NOW, 2)
    offer = rig.keys.offer(job, blocks[0], rig.givers["A"].id, NOW, image="x:1")
    assert offer is not None
    await rig.keys.set_status(job.job_id, JobStatus.PAUSED, NOW)
    assert rig.keys.offer(job, blocks[1], rig.givers["A"].id, NOW, image="x:1") is None
    assert await rig.keys.lease_all([offer]) == [None]
    assert counts(job) == (0, 0, 0, 2) and rig.keys.leases == {}


async def test_failures_and_refusals_outlive_a_restart_open_or_done(rig: Rig) -> None:
    now = time.time()
    job = await rig.job(keys=["a", "b", "c", "d"], block_size=2, max_attempts=1)
    task = await rig.lease(job, "A", now)
    assert await rig.keys.apply(await rig.report(task, "A", {"a": "HTTP 404", "b": "gone"}), now)
    task = await rig.lease(job, "B", now)
    assert await rig.keys.refused(task.task_id, rig.givers["B"].id, "image not allowed", now)

    seen = {field: job.view()[field] for field in ("failed_last_hour", "failures", "refusals")}
    assert seen["failed_last_hour"] == 2 and len(seen["failures"]) == 2
    assert [r["reason"] for r in seen["refusals"]] == ["image not allowed"]
    for finish in (False, True):
        if finish:
            await rig.complete(job, "C", now)
            assert job.status is JobStatus.DONE
        restarted = KeyManager(rig.keys.store, rig.channel, lease_grace_s=GRACE_S)
        await restarted.load(now)
        view = (await restarted.job(job.job_id)).view()
        assert {field: view[field] for field in seen} == seen


async def test_dump_and_load_restore_a_job_without_its_leases(rig: Rig, tmp_path: Path) -> None:
    job = await rig.job(keys=[f"k{n}" for n in range(5)], block_size=2)
    await rig.complete(job, "A")
    await rig.lease(job, "B")
    lines = [line async for line in dump_state(rig.keys, job.job_id)]
    assert len(lines) == 1 + 3 + 1
    with pytest.raises(JobConflict, match="already exists"):
        await load_state(rig.keys, _aiter(lines))

    state = await open_state(f"sqlite:///{tmp_path}/elsewhere.sqlite3")
    try:
        elsewhere = KeyManager(state, rig.channel, lease_grace_s=GRACE_S)
        loaded = await load_state(elsewhere, _aiter(lines))
        assert loaded.job_id == job.job_id and counts(loaded) == (2, 0, 0, 3)
        assert elsewhere.leases == {}
        records = [r async for res in elsewhere.counted_results(job.job_id) for r in res.records]
        assert sorted(r["key"] for r in records) == ["k0", "k1"]
    finally:
        await state.close()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "empty"),
        ([b"{nope"], "line 1: not JSON"),
        ([b'{"format": "other"}'], "not a job state file"),
    ],
)
async def test_a_bad_state_file_is_refused_and_leaves_nothing(
    rig: Rig, lines: list[bytes], message: str
) -> None:
    with pytest.raises(InvalidState, match=message):
        await load_state(rig.keys, _aiter(lines))
    assert await rig.keys.store.jobs() == []


async def test_a_state_file_with_a_broken_block_leaves_nothing(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], block_size=1)
    lines = [line async for line in dump_state(rig.keys, job.job_id)]
    await rig.keys.store.delete_job(job.job_id)
    del rig.keys.jobs[job.job_id]
    with pytest.raises(InvalidState, match="line 3: a malformed block"):
        await load_state(rig.keys, _aiter([*lines[:2], b'{"job_id": "x"}\n']))
    assert await rig.keys.store.jobs() == []
    assert await rig.keys.store.job_blocks(job.job_id, -1, 10) == []


async def test_a_state_file_cut_short_or_edited_is_refused(rig: Rig) -> None:
    job = await rig.job(range=[0, 300], block_size=100)
    for _ in range(3):
        await rig.complete(job, "A")
    lines = [line async for line in dump_state(rig.keys, job.job_id)]
    await rig.keys.store.delete_job(job.job_id)
    del rig.keys.jobs[job.job_id]
    with pytest.raises(InvalidState, match="no end line: it is cut short"):
        await load_state(rig.keys, _aiter(lines[:-2]))
    with pytest.raises(InvalidState, match="line 4: block 3 where block 2 was due"):
        await load_state(rig.keys, _aiter([*lines[:3], lines[3].replace(b'"seq":2', b'"seq":3')]))
    with pytest.raises(InvalidState, match=r"line 4: .* end line's digest: the file was edited"):
        await load_state(rig.keys, _aiter([*lines[:3], lines[-1]]))
    end = lines[-1].replace(b'"done":300', b'"done":200')
    with pytest.raises(InvalidState, match=r"line 5: the blocks add up to .*the file was edited"):
        await load_state(rig.keys, _aiter([*lines[:-1], end]))
    assert await rig.keys.store.jobs() == [] and rig.keys.jobs == {}


@pytest.mark.parametrize(
    ("line", "old", "new"),
    [
        (0, b'"priority":10', b'"priority":99'),
        (1, b'"issued":1', b'"issued":2'),
    ],
)
async def test_any_edit_of_a_state_file_is_refused_whole(
    rig: Rig, line: int, old: bytes, new: bytes
) -> None:
    job = await rig.job(keys=["a", "b", "c"], block_size=2)
    await rig.complete(job, "A")
    lines = [line async for line in dump_state(rig.keys, job.job_id)]
    await rig.keys.store.delete_job(job.job_id)
    del rig.keys.jobs[job.job_id]
    assert old in lines[line], lines[line]
    lines[line] = lines[line].replace(old, new)
    with pytest.raises(InvalidState, match=r"line 4: the lines above do not match the end line's"):
        await load_state(rig.keys, _aiter(lines))
    assert await rig.keys.store.jobs() == [] and rig.keys.jobs == {}


async def test_a_job_takes_its_keys_from_an_earlier_jobs_records(rig: Rig) -> None:
    first = await rig.job(keys=["p1", "p2", "p3"], block_size=2)
    with pytest.raises(InvalidJob, match="is running"):
        await rig.job(from_job={"job_id": first.job_id, "field": "links"})
    await rig.complete(first, "A")
    task = await rig.lease(first, "B")
    assert await rig.keys.apply(await rig.report(task, "B", {"p3": "gone"}), NOW)
    await rig.keys.set_status(first.job_id, JobStatus.CANCELLED, NOW)

    second = await rig.job(from_job={"job_id": first.job_id, "field": "links"}, block_size=3)
    assert second.total == 4 and second.block_count == 2
    keys = [k async for block in rig.keys.blocks(second.job_id) for k in block.keys]
    assert keys == ["p1/1", "p1/2", "p2/1", "p2/2"]
    with pytest.raises(InvalidJob, match=r"no record of job .* has a usable 'nothing'"):
        await rig.job(from_job={"job_id": first.job_id, "field": "nothing"})
    with pytest.raises(InvalidJob, match="from_job: no job 'jmissing'"):
        await rig.job(from_job={"job_id": "jmissing", "field": "links"})


async def test_a_job_takes_its_keys_from_a_dataset(rig: Rig) -> None:
    objects = [
        {"data": {"next": "p1"}},
        {"data": {"next": ["p2", 3, "p1"]}},
        {"data": {"next": [True, "", {"x": 1}]}},
        {"data": "not an object"},
        {"other": 1},
        # Over a megabyte of lines, so they are taken in more than one batch.
        *({"data": {"next": f"q{n}"}} for n in range(60_000)),
    ]

    async def lines() -> AsyncIterator[bytes]:
        for value in objects:
            yield canonical.dumps(value)

    await rig.channel.put_dataset("bob.links", lines(), "tok")
    job = await rig.job(from_dataset={"dataset": "bob.links", "field": "data.next"}, block_size=900)
    assert (job.total, job.duplicates, job.unusable) == (60_003, 1, 3)
    keys = [k async for block in rig.keys.blocks(job.job_id) for k in block.keys]
    assert keys[:5] == ["p1", "p2", "3", "q0", "q1"] and keys[-1] == "q59999"
    with pytest.raises(InvalidJob, match=r"no object of dataset bob\.links has a usable 'next'"):
        await rig.job(from_dataset={"dataset": "bob.links", "field": "next"})
    with pytest.raises(InvalidJob, match="from_dataset: no dataset 'absent'") as refused:
        await rig.job(from_dataset={"dataset": "absent", "field": "next"})
    assert refused.value.field == "from_dataset"


async def test_a_keys_file_is_streamed_checked_and_deduplicated(rig: Rig, tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_bytes(b"b\r\na\n\nb\nc\n  \nd")
    spec = parse_job({"image": "x:1", "block_size": 2}, keys_file=True)
    job = await create_job(rig.keys, spec, scratch_dir=rig.scratch, keys_file=path)
    assert (job.total, job.duplicates, job.block_count) == (4, 1, 2)
    keys = [list(block.keys) async for block in rig.keys.blocks(job.job_id)]
    assert keys == [["b", "a"], ["c", "d"]]
    assert list(rig.scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ok\n\xff\xfe\n", "keys file line 2 is not UTF-8"),
        (b"ok\n" + b"k" * 2049 + b"\n", "keys file line 2: key 'kkk.*is 2049 bytes"),
        (b"\n\n", "the keys file has no keys"),
    ],
)
async def test_a_bad_keys_file_creates_nothing(
    rig: Rig, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "keys.txt"
    path.write_bytes(content)
    spec = parse_job({"image": "x:1", "block_size": 1}, keys_file=True)
    with pytest.raises(InvalidJob, match=message):
        await create_job(rig.keys, spec, scratch_dir=rig.scratch, keys_file=path)
    assert await rig.keys.store.jobs() == [] and rig.keys.jobs == {}
    assert list(rig.scratch.iterdir()) == []


async def sealed_job(rig: Rig, **body: Any) -> tuple[Job, X25519PrivateKey]:
    """A job sealed to a new recipient, and the recipient's private key."""
    recipient = X25519PrivateKey.generate()
    return await rig.job(recipient=sealing.public_text(recipient), **body), recipient


async def sealed_copies(rig: Rig, job: Job, prices: dict[str, int]) -> list[Task]:
    """Lease one block to each Giver of `prices`, and have each report every key at
    its price as a Giver does: sealed, with the agreement, signed."""
    tasks = []
    for giver in prices:
        (block,) = await rig.keys.ready(job, NOW, 1)
        giver_id = rig.givers[giver].id
        leased = await lease_one(
            rig.keys, job, block, giver_id, quorum=len(prices), wanted=len(prices)
        )
        assert leased is not None
        tasks.append(leased)
    for task, (giver, price) in zip(tasks, prices.items(), strict=True):
        output = ScraperOutput(
            records=[{"key": k, "data": {"price": price}} for k in task.block],
            outcomes=[KeyOutcome(k, True) for k in task.block],
        )
        result = signed(rig.givers[giver], task, output, NOW)
        await rig.channel.put_result(result)
        assert await rig.keys.apply(result, NOW)
    return tasks


async def test_copies_of_a_sealed_job_agree_by_their_agreement_or_fail_disagreeing(
    rig: Rig,
) -> None:
    job, recipient = await sealed_job(
        rig, keys=["a", "b"], block_size=1, replicas=2, max_extra_copies=0
    )
    assert job.to_doc()["agreement_key"] == job.agreement_key != ""
    assert job.agreement_key not in str(job.view())
    agreed = await sealed_copies(rig, job, {"A": 10, "B": 10})
    for task in agreed:
        assert (task.seal_to, task.agreement_key) == (job.spec.recipient, job.agreement_key)
    disagreed = await sealed_copies(rig, job, {"A": 10, "C": 11})
    assert counts(job) == (1, 1, 0, 0)
    (failure,) = job.failures
    assert failure.key == "b" and failure.reason.startswith("copies disagree (2 different")
    results = [res async for res in rig.keys.counted_results(job.job_id)]
    assert [r.task_id for r in results] == [agreed[0].task_id]
    (record,) = results[0].records
    assert sealing.open_record(recipient, job.job_id, record) == {"key": "a", "data": {"price": 10}}
    copies = agreed + disagreed
    stored = await rig.channel.results_for_tasks([t.task_id for t in copies])
    agreement = {r.task_id: r.agreement for r in stored}
    first, second, third, fourth = (agreement[t.task_id] for t in copies)
    assert first == second and third != fourth
    (block, _) = [b async for b in rig.keys.blocks(job.job_id)]
    assert [run.digest for run in block.runs] == [first, first]


@pytest.mark.parametrize("keys", [["7"], ["0", "01", "2"]], ids=["few", "as-many"])
async def test_a_result_claiming_a_key_outside_its_range_is_discarded(
    rig: Rig, keys: list[str]
) -> None:
    job = await rig.job(range=[0, 3], block_size=3)
    task = await rig.lease(job, "A")
    counted = await rig.keys.apply(await rig.report(task, "A", post=False, keys=keys), NOW)
    assert counted is not None and counted.discarded
    assert counts(job) == (0, 0, 0, 3)


async def test_a_result_that_does_not_fit_its_jobs_sealing_is_discarded(rig: Rig) -> None:
    # The Channel refuses such results; one that reached the Seeker anyway is discarded.
    job, _ = await sealed_job(rig, keys=["a"], max_attempts=1)
    task = await rig.lease(job, "A")
    plain = await rig.report(task, "A", post=False)
    with pytest.raises(WireError, match="must be sealed"):
        await rig.channel.put_result(plain)
    assert await rig.keys.apply(plain, NOW)
    assert counts(job) == (0, 1, 0, 0)
    assert job.failures[0].reason == (
        f"result {plain.result_id} has no agreement, though its job is sealed; discarded"
    )
    job, recipient = await sealed_job(rig, keys=["a"], max_attempts=1)
    task = await rig.lease(job, "A")
    result = await rig.report(task, "A", post=False, agreement="ab" * 32)
    assert await rig.keys.apply(result, NOW)
    assert job.failures[0].reason == (
        f"result {result.result_id} holds record 'a' in the clear, though its job is sealed; "
        "discarded"
    )
    plain_job = await rig.job(keys=["a"], max_attempts=1)
    task = await rig.lease(plain_job, "A")
    sealed_task = replace(
        task, seal_to=sealing.public_text(recipient), agreement_key=sealing.new_agreement_key()
    )
    output = ScraperOutput([{"key": "a", "data": {}}], [KeyOutcome("a", True)])
    result = signed(rig.givers["A"], sealed_task, output, NOW)
    with pytest.raises(WireError, match="is sealed, but the job names no recipient"):
        await rig.channel.put_result(result)
    assert await rig.keys.apply(result, NOW)
    assert plain_job.failures[0].reason == (
        f"result {result.result_id} holds record 'a' sealed, though its job is not; discarded"
    )


async def test_a_sealed_jobs_agreement_key_survives_dump_and_load_and_feeds_no_job(
    rig: Rig,
) -> None:
    job, _ = await sealed_job(rig, keys=["a"])
    await sealed_copies(rig, job, {"A": 1})
    with pytest.raises(InvalidJob, match=r"from_job: job .*'s records are sealed to its recipient"):
        await rig.job(from_job={"job_id": job.job_id, "field": "price"})
    lines = [line async for line in dump_state(rig.keys, job.job_id)]
    await rig.keys.store.delete_job(job.job_id)
    del rig.keys.jobs[job.job_id]
    loaded = await load_state(rig.keys, _aiter(lines))
    assert (loaded.spec.recipient, loaded.agreement_key) == (job.spec.recipient, job.agreement_key)
    header = canonical.loads(lines[0])
    del header["job"]["agreement_key"]
    await rig.keys.store.delete_job(job.job_id)
    del rig.keys.jobs[job.job_id]
    with pytest.raises(InvalidState, match="a sealed job has an agreement key, and only"):
        await load_state(rig.keys, _aiter([canonical.dumps(header), *lines[1:]]))


async def _aiter(lines: list[bytes]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line
