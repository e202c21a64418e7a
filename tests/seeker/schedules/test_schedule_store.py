"""Schedules and their runs on every state store backend: stored and listed,
replaced only over the version read, runs replaced by tick and pruned to the
latest, and deleted with the schedule."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from seeker.state.base import StateStore
from seeker.state.factory import open_state

NOW = 1_000_000.0


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[StateStore]:
    """A state store on each backend (a SQLite file, a fresh FerretDB database)."""
    store = await open_state(store_url)
    yield store
    await store.close()


def schedule(schedule_id: str, created_at: float = NOW, **fields: Any) -> dict[str, Any]:
    return {
        "schedule_id": schedule_id,
        "name": schedule_id,
        "created_at": created_at,
        "version": 0,
        "job": {"image": "x:1", "keys": ["a.b", "$c"]},
        **fields,
    }


def run(schedule_id: str, tick: float, outcome: str = "created") -> dict[str, Any]:
    return {
        "run_id": f"{schedule_id}-{int(tick)}",
        "schedule_id": schedule_id,
        "tick": tick,
        "outcome": outcome,
    }


async def test_schedules_are_listed_oldest_first_and_read_back_as_stored(
    store: StateStore,
) -> None:
    await store.insert_schedule(schedule("sc-b", NOW + 1))
    await store.insert_schedule(schedule("sc-a", NOW + 2))
    await store.insert_schedule(schedule("sc-c", NOW))
    assert [s["schedule_id"] for s in await store.schedules()] == ["sc-c", "sc-b", "sc-a"]
    assert await store.schedule("sc-a") == schedule("sc-a", NOW + 2)
    assert await store.schedule("sc-none") is None


async def test_a_schedule_is_replaced_only_over_the_version_it_was_read_at(
    store: StateStore,
) -> None:
    await store.insert_schedule(schedule("sc-a"))
    assert await store.replace_schedule(schedule("sc-a", version=1, next_at=NOW + 60))
    # A writer that read version 0 too comes late: its write is refused.
    assert not await store.replace_schedule(schedule("sc-a", version=1, next_at=NOW + 120))
    assert not await store.replace_schedule(schedule("sc-none", version=1))
    stored = await store.schedule("sc-a")
    assert stored is not None and (stored["version"], stored["next_at"]) == (1, NOW + 60)
    # Of writers racing over one version, one wins.
    racing = [store.replace_schedule(schedule("sc-a", version=2, next_at=n)) for n in range(10)]
    assert sorted(await asyncio.gather(*racing)) == [False] * 9 + [True]
    assert [s["version"] for s in await store.schedules()] == [2]


async def test_runs_are_kept_per_tick_latest_first_and_pruned_to_the_latest(
    store: StateStore,
) -> None:
    await store.insert_schedule(schedule("sc-a"))
    await store.insert_schedule(schedule("sc-b"))
    for n in (3, 1, 4, 2, 5):
        await store.put_run(run("sc-a", NOW + 60 * n))
    await store.put_run(run("sc-b", NOW))
    # The same tick again replaces its run.
    await store.put_run(run("sc-a", NOW + 60 * 2, "skipped"))
    runs = await store.runs("sc-a")
    assert [r["tick"] for r in runs] == [NOW + 60 * n for n in (5, 4, 3, 2, 1)]
    assert runs[3]["outcome"] == "skipped"
    assert await store.prune_runs("sc-a", 2) == 3
    assert [r["tick"] for r in await store.runs("sc-a")] == [NOW + 300, NOW + 240]
    assert await store.prune_runs("sc-a", 2) == 0
    assert await store.prune_runs("sc-a", 5) == 0
    assert [r["tick"] for r in await store.runs("sc-b")] == [NOW]


async def test_deleting_a_schedule_deletes_its_runs_and_only_its_own(store: StateStore) -> None:
    await store.insert_schedule(schedule("sc-a"))
    await store.insert_schedule(schedule("sc-b"))
    await store.put_run(run("sc-a", NOW))
    await store.put_run(run("sc-b", NOW))
    assert await store.delete_schedule("sc-a")
    assert not await store.delete_schedule("sc-a")
    assert [s["schedule_id"] for s in await store.schedules()] == ["sc-b"]
    assert await store.runs("sc-a") == []
    assert len(await store.runs("sc-b")) == 1


async def test_schedules_survive_reopening_the_store(store: StateStore, store_url: str) -> None:
    await store.insert_schedule(schedule("sc-a"))
    await store.put_run(run("sc-a", NOW))
    again = await open_state(store_url)
    try:
        assert await again.schedule("sc-a") == schedule("sc-a")
        assert await again.runs("sc-a") == [run("sc-a", NOW)]
    finally:
        await again.close()
