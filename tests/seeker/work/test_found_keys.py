"""Keys scrapers discover join their job (each once, within its cap), and debug
captures are kept only when asked: in the state state_store on both backends, and
end to end with the links scraper crawling the demo wiki in real containers."""

from pathlib import Path
from typing import Any

import aiohttp
import demo_wiki
import pytest
from support import egress
from support.api import Grid, export, submit_and_wait
from support.base import OPERATOR_HEADERS

from channel.wire import canonical, sealing
from seeker.errors import InvalidJob
from seeker.state.base import StateStore
from seeker.work import found
from seeker.work.blocks import Block
from seeker.work.history import Tally
from seeker.work.jobs import Job, JobStatus
from seeker.work.spec import parse_job


async def seeded_job(state_store: StateStore, job_id: str, max_discovered: int) -> Job:
    """A running job of keys a and b in one block, taking up to `max_discovered` keys."""
    spec = parse_job(
        {
            "image": "x:1",
            "keys": ["a", "b"],
            "block_size": 2,
            "discover": True,
            "max_discovered": max_discovered,
        }
    )
    job = Job(job_id, spec, 2, 1, 10, status=JobStatus.RUNNING, seed_blocks=1)
    job.tally, job.next_seq = Tally(pending=2), 1
    await found.claim_seeds(state_store, job_id, 0, ("a", "b"))
    return job


async def blocks_of(state_store: StateStore, job_id: str) -> list[tuple[int, tuple[str, ...]]]:
    docs = await state_store.job_blocks(job_id, -1, 100)
    return [(b.seq, tuple(b.keys)) for b in map(Block.from_doc, docs)]


async def test_discovered_keys_are_added_once_within_the_cap(state_store: StateStore) -> None:
    job = await seeded_job(state_store, "jcap", max_discovered=3)
    added = await found.add(state_store, job, ["b", "c", "c", "d", "a", "e", "f"])
    assert added == 3
    assert await blocks_of(state_store, "jcap") == [(1, ("c", "d")), (2, ("e",))]
    assert (job.total, job.block_count, job.discovered, job.tally.pending) == (5, 3, 3, 5)
    assert await found.add(state_store, job, ["g"]) == 0
    stored = Job.from_doc((await state_store.jobs())[0])
    assert (stored.total, stored.block_count, stored.discovered) == (5, 3, 3)
    assert await state_store.count_claimed("jcap", job.seed_blocks) == 3


async def test_keys_claimed_by_a_seeker_that_stopped_are_put_in_blocks(
    state_store: StateStore,
) -> None:
    job = await seeded_job(state_store, "jcrash", max_discovered=10)
    # A Seeker claimed x and y for block 1, then stopped before writing the block.
    assert await state_store.claim_keys("jcrash", ["x", "y"], 1, 2, 10) == [("x", 1), ("y", 1)]
    job.discovered = await state_store.count_claimed("jcrash", job.seed_blocks)
    # The result that found them counts again after the restart, with one more key.
    assert await found.add(state_store, job, ["y", "x", "z"]) == 1
    assert await blocks_of(state_store, "jcrash") == [(1, ("x", "y")), (2, ("z",))]
    assert (job.total, job.discovered) == (5, 3)


async def test_a_deleted_job_forgets_its_keys(state_store: StateStore) -> None:
    job = await seeded_job(state_store, "jgone", max_discovered=10)
    await state_store.put_job(job.to_doc())
    await state_store.delete_job("jgone")
    assert await state_store.claim_keys("jgone", ["a", "q"], 0, 2, 10) == [("a", 0), ("q", 0)]


def test_discovery_is_for_jobs_of_listed_keys_and_never_sealed(tmp_path: Path) -> None:
    recipient = sealing.create_recipient(tmp_path / "recipient.key")
    with pytest.raises(InvalidJob, match="discover needs a job of listed keys") as caught:
        parse_job({"image": "x:1", "range": [0, 10], "discover": True})
    assert caught.value.field == "discover"
    with pytest.raises(InvalidJob, match="cannot go with a recipient") as caught:
        parse_job({"image": "x:1", "keys": ["a"], "captures": True, "recipient": recipient})
    assert caught.value.field == "captures"


def wiki_job(site: str, image: str, **fields: Any) -> dict[str, Any]:
    return {
        "image": image,
        "keys": [f"{site}/wiki/{demo_wiki.START}"],
        "block_size": 4,
        "network": "bridge",
        "max_attempts": 1,
        "discover": True,
        "settings": {"path_prefix": "/wiki/"},
        **fields,
    }


async def test_a_crawl_finds_the_whole_wiki_each_page_once(
    grid: Grid, links_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    job = await submit_and_wait(seeker, wiki_job(demo_site_url, links_image))
    pages = {f"{demo_site_url}/wiki/{title}" for title in demo_wiki.TITLES}
    broken = f"{demo_site_url}/wiki/{demo_wiki.BROKEN}"
    assert job["keys"] == {
        "total": len(pages) + 1,
        "done": len(pages),
        "failed": 1,
        "leased": 0,
        "pending": 0,
    }
    assert job["discovered"] == len(pages)
    assert job["failures"][0]["key"] == broken
    records = await export(seeker, job["job_id"])
    assert sorted(r["data"]["url"] for r in records) == sorted(pages)
    assert not any("capture" in r for r in records)


async def test_a_crawl_stops_growing_at_its_cap_and_keeps_captures_when_asked(
    grid: Grid, links_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    job = await submit_and_wait(
        seeker, wiki_job(demo_site_url, links_image, max_discovered=5, captures=True)
    )
    assert (job["keys"]["total"], job["discovered"]) == (6, 5)
    plain = await export(seeker, job["job_id"])
    assert len(plain) == job["keys"]["done"] and not any("capture" in r for r in plain)
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        url = f"{seeker.url}/api/v1/jobs/{job['job_id']}/records?full=1"
        async with http.get(url) as response:
            full = [canonical.loads(line) for line in (await response.read()).splitlines()]
        async with http.get(f"{seeker.url}/api/v1/jobs/{job['job_id']}/records?full=2") as bad:
            assert bad.status == 400
    assert len(full) == len(plain)
    for record in full:
        assert record["capture"]["media_type"] == "text/html"
        assert "<title>" in record["capture"]["text"]
        assert {k: v for k, v in record.items() if k != "capture"} in plain
