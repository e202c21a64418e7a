"""What the Giver daemon tells a real Seeker: what it offers (labels, volunteer,
the scraper images it has) and a Report when that changes, when a scraper's output cannot
be trusted, and when the Giver stops with tasks still running (real containers)."""

import asyncio
from pathlib import Path
from typing import Any

import docker
import pytest
from support.api import givers_view, job_state, online_givers, submit, wait_until_done
from support.base import OPERATOR_TOKEN, free_port
from support.docker import containers_by_id
from support.givers import GiverFactory, Heard

from channel.wire.givers import GiverInfo
from channel.wire.messages import Accept, Done, Invalidate, Message, Release, Report
from giver.daemon import Giver
from giver.tasks.assignments import STOPPING_REASON
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.grid import registry as seeker_givers

JOB_TIMEOUT_S = 90.0
POLL_S = 0.1
# Leases lapse only after a job's timeout_s plus this: far longer than any wait
# here, so a block that comes back was given back, not lapsed.
LEASE_GRACE_S = 60.0
RELEASED_WITHIN_S = 10.0
# Short, so a test sees the periodic probe without waiting the default minute.
REPORT_INTERVAL_S = 0.2
RECONNECT_MAX_S = 0.2

pytestmark = pytest.mark.seeker_config(
    poll_interval_s=POLL_S, lease_grace_s=LEASE_GRACE_S, open_registration=True
)


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[GiverInfo]:
    """Every GiverInfo the Seeker verified in a registration, in order."""
    infos: list[GiverInfo] = []
    verify = seeker_givers.verify_registration

    def recording(body: Any, now: float, max_skew_s: float) -> GiverInfo:
        infos.append(info := verify(body, now, max_skew_s))
        return info

    monkeypatch.setattr(seeker_givers, "verify_registration", recording)
    return infos


def containers_of(docker_client: docker.DockerClient, giver: Giver) -> list[str]:
    return [c.name for c in containers_by_id(docker_client, giver.id)]


async def test_garbage_output_invalidates_the_task_and_posts_no_result(
    seeker: Seeker, heard: Heard, giver: GiverFactory, faulty_image: str
) -> None:
    assert seeker.coordinator is not None
    channel = seeker.coordinator.keys.channel
    async with giver("g"):
        garbage_job = await submit(
            seeker,
            {
                "image": faulty_image,
                "keys": ["a", "b"],
                "settings": {"mode": "garbage"},
                "max_attempts": 1,
            },
        )
        (invalidate,) = await heard.wait_for(Invalidate)
        assert invalidate.reason.startswith("records.jsonl line 1: not valid JSON")
        job = await wait_until_done(seeker, garbage_job)
        assert job["keys"]["failed"] == 2 and job["keys"]["done"] == 0
        assert {f["reason"] for f in job["failures"]} == {
            f"invalidated by giver: {invalidate.reason}"
        }

        # The outbox posts results in order: once a later task's result is in the
        # Channel, a result of the invalidated task would be there too.
        ok_job = await submit(
            seeker, {"image": faulty_image, "keys": ["a"], "settings": {"mode": "ok"}}
        )
        assert (await wait_until_done(seeker, ok_job))["keys"]["done"] == 1
        (done,) = await heard.wait_for(Done)
        assert done.task_id != invalidate.task_id
        assert [r.result_id for r in await channel.results_for_tasks([done.task_id])] == [
            done.result_id
        ]
        assert await channel.results_for_tasks([invalidate.task_id]) == []


async def test_a_giver_that_stops_releases_its_running_tasks(
    seeker: Seeker,
    heard: Heard,
    giver: GiverFactory,
    faulty_image: str,
    docker_client: docker.DockerClient,
) -> None:
    job_id = await submit(
        seeker,
        {
            "image": faulty_image,
            "keys": ["a", "b", "c", "d"],
            "block_size": 2,
            "settings": {"mode": "sleep"},
            "limits": {"timeout_s": 60},
        },
    )
    async with giver("stopping", slots=2) as stopping:
        accepted = await heard.wait_for(Accept, count=2)
        assert (await job_state(seeker, job_id))["keys"]["leased"] == 4

    released = await heard.wait_for(Release, count=2)
    assert {m.task_id for m in released} == {m.task_id for m in accepted}
    assert {m.reason for m in released} == {STOPPING_REASON}
    # The Seeker may offer a released block again before it sees the session
    # close; the Giver releases that at once too. Nothing waits for a lapse.
    async with asyncio.timeout(RELEASED_WITHIN_S):
        while (job := await job_state(seeker, job_id))["keys"]["leased"]:  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    assert job["keys"]["pending"] == 4
    assert job["status"] == "running" and job["failures"] == []
    assert await asyncio.to_thread(containers_of, docker_client, stopping) == []


async def test_the_seeker_sees_a_givers_labels_volunteer_and_cached_images(
    seeker: Seeker,
    giver: GiverFactory,
    verified: list[GiverInfo],
    faulty_image: str,
    catalog_image: str,
    docker_client: docker.DockerClient,
) -> None:
    labels = {"region": "eu", "net.residential": "true"}
    async with giver("lent", labels=labels, volunteer="ada") as lent:
        (view,) = await givers_view(seeker)
        faulty, catalog = [
            (await asyncio.to_thread(docker_client.images.get, name)).id
            for name in (faulty_image, catalog_image)
        ]
        # An image it does not tell of (no scraper labels) runs all the same.
        job_id = await submit(
            seeker, {"image": faulty_image, "keys": ["a"], "settings": {"mode": "ok"}}
        )
        assert (await wait_until_done(seeker, job_id))["keys"]["done"] == 1

    assert view["giver_id"] == lent.id
    capabilities = view["capabilities"]
    assert capabilities["labels"] == labels
    assert catalog in capabilities["images"]
    assert faulty not in capabilities["images"] and faulty_image not in capabilities["images"]
    assert [(info.giver_id, info.volunteer) for info in verified] == [(lent.id, "ada")]


async def test_a_new_local_image_reaches_the_seeker_in_a_report(
    seeker: Seeker,
    heard: Heard,
    giver: GiverFactory,
    catalog_image: str,
    new_tag: str,
    docker_client: docker.DockerClient,
) -> None:
    """The catalog image, tagged into the one repository the policy allows while
    the Giver runs, and untagged again."""
    image_id = (await asyncio.to_thread(docker_client.images.get, catalog_image)).id
    repository, _, tag = new_tag.partition(":")

    def has_image(message: Message) -> bool:
        return isinstance(message, Report) and image_id in message.capabilities.images

    async with giver(
        "reporting",
        report_interval_s=REPORT_INTERVAL_S,
        labels={"region": "eu"},
        allowed_images=(repository,),
    ):
        (registered,) = await givers_view(seeker)
        assert registered["capabilities"]["images"] == []

        await asyncio.to_thread(docker_client.api.tag, catalog_image, repository, tag)
        tagged_at, report = await heard.first(has_image)
        assert report.capabilities.labels == {"region": "eu"}
        assert report.capabilities.images == (image_id,)

        await asyncio.to_thread(docker_client.images.remove, new_tag)
        _, untagged = await heard.first(
            lambda m: isinstance(m, Report) and not has_image(m), start=tagged_at + 1
        )
        assert untagged.capabilities.images == ()


async def test_registering_again_carries_what_the_machine_offers_now(
    tmp_path: Path, catalog_image: str, new_tag: str, docker_client: docker.DockerClient
) -> None:
    """A Seeker started again does not know the Giver, which registers again: with
    an image tagged while no Seeker ran (no Report could carry it). The Seeker's
    key is the one in its state store, which the Giver pinned."""
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=free_port(),
        data_dir=tmp_path / "seeker",
        poll_interval_s=POLL_S,
        open_registration=True,
    )

    image_id = (await asyncio.to_thread(docker_client.images.get, catalog_image)).id
    repository, _, tag = new_tag.partition(":")
    again = Giver(
        GiverConfig(
            seeker_url=f"http://127.0.0.1:{config.port}",
            data_dir=tmp_path / "again",
            name="again",
            reconnect_max_s=RECONNECT_MAX_S,
            allowed_images=(repository,),
        )
    )
    try:
        async with Seeker(config) as first:
            await again.start()
            (registered,) = await online_givers(first)
            assert registered["capabilities"]["images"] == []
        await asyncio.to_thread(docker_client.api.tag, catalog_image, repository, tag)
        async with Seeker(config) as second:
            (view,) = await online_givers(second)
            assert view["giver_id"] == again.id
            assert view["capabilities"]["images"] == [image_id]
    finally:
        await again.stop()
