"""What the Giver daemon tells a real Seeker: what it offers (labels, volunteer,
cached images) and a Report when that changes, when a scraper's output cannot
be trusted, and when the Giver stops with tasks still running (real containers)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import docker
import pytest
from conftest import BASE_IMAGE, OPERATOR_HEADERS, OPERATOR_TOKEN, free_port

from channel.wire import canonical
from channel.wire.givers import GiverInfo
from channel.wire.messages import Accept, Done, Invalidate, Message, Release, Report
from giver.config import GiverConfig
from giver.daemon import STOPPING_REASON, Giver
from giver.docker_runner import GIVER_LABEL
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.grid import registry as seeker_givers
from seeker.grid.coordinator import Coordinator

JOB_TIMEOUT_S = 90.0
POLL_S = 0.1
# Leases lapse only after a job's timeout_s plus this: far longer than any wait
# here, so a block that comes back was given back, not lapsed.
LEASE_GRACE_S = 60.0
RELEASED_WITHIN_S = 10.0
# Short, so a test sees the periodic probe without waiting the default minute.
REPORT_INTERVAL_S = 0.2
RECONNECT_MAX_S = 0.2

GiverFactory = Callable[..., Giver]


class Heard:
    """Every message the Seeker's coordinator handled, in order of arrival."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self._handle = coordinator.on_message

    async def on_message(self, giver_id: str, message: Message) -> None:
        await self._handle(giver_id, message)
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, kind: type[Message], count: int = 1) -> list[Any]:
        """The first `count` messages of `kind`, once the Seeker has handled them."""
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while len(found := [m for m in self.messages if isinstance(m, kind)]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return found[:count]

    async def first(self, matches: Callable[[Message], bool], start: int = 0) -> tuple[int, Any]:
        """The first message from index `start` on that `matches`, and its index."""
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while True:
                for index in range(start, len(self.messages)):
                    if matches(self.messages[index]):
                        return index, self.messages[index]
                start = len(self.messages)
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def seeker(tmp_path: Path) -> AsyncIterator[Seeker]:
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=tmp_path / "seeker",
        poll_interval_s=POLL_S,
        lease_grace_s=LEASE_GRACE_S,
        open_registration=True,
    )
    async with Seeker(config) as seeker:
        yield seeker


@pytest.fixture
def heard(seeker: Seeker, monkeypatch: pytest.MonkeyPatch) -> Heard:
    assert seeker.coordinator is not None
    heard = Heard(seeker.coordinator)
    monkeypatch.setattr(seeker.coordinator, "on_message", heard.on_message)
    return heard


@pytest.fixture
async def giver(seeker: Seeker, tmp_path: Path) -> AsyncIterator[GiverFactory]:
    """Make Givers of `seeker` (not started); each is stopped when the test ends."""
    async with AsyncExitStack() as stack:

        def make(name: str, slots: int = 1, **settings: Any) -> Giver:
            made = Giver(
                GiverConfig(
                    seeker_url=seeker.url,
                    data_dir=tmp_path / name,
                    name=name,
                    slots=slots,
                    progress_interval_s=0.2,
                    **settings,
                )
            )
            stack.push_async_callback(made.stop)
            return made

        yield make


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


async def submit(seeker: Seeker, body: dict[str, Any]) -> str:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/jobs", data=canonical.dumps(body)) as r:
            assert r.status == 201, await r.text()
            return (await r.json())["job_id"]


async def job_state(seeker: Seeker, job_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/jobs/{job_id}") as response:
            return await response.json()


async def wait_until_done(seeker: Seeker, job_id: str) -> dict[str, Any]:
    """The job once it is done; its state lives behind an HTTP API, so poll."""
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while (job := await job_state(seeker, job_id))["status"] != "done":  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    return job


async def givers_view(seeker: Seeker) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/givers") as response:
            assert response.status == 200
            return (await response.json())["givers"]


async def online_givers(seeker: Seeker) -> list[dict[str, Any]]:
    """The Seeker's view of its Givers once one has its session open."""
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            view = await givers_view(seeker)
            if any(g["online"] for g in view):
                return view
            await asyncio.sleep(POLL_S)


def containers_by_id(docker_client: docker.DockerClient, giver_id: str) -> list[Any]:
    """The containers of Giver `giver_id`, running or not."""
    return docker_client.containers.list(all=True, filters={"label": f"{GIVER_LABEL}={giver_id}"})


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
    docker_client: docker.DockerClient,
) -> None:
    labels = {"region": "eu", "net.residential": "true"}
    async with giver("lent", labels=labels, volunteer="ada") as lent:
        (view,) = await givers_view(seeker)
        image = await asyncio.to_thread(docker_client.images.get, faulty_image)
        # The image it offers is the image it runs.
        job_id = await submit(
            seeker, {"image": faulty_image, "keys": ["a"], "settings": {"mode": "ok"}}
        )
        assert (await wait_until_done(seeker, job_id))["keys"]["done"] == 1

    assert view["giver_id"] == lent.id
    capabilities = view["capabilities"]
    assert capabilities["labels"] == labels
    assert {faulty_image, image.id} <= set(capabilities["images"])
    assert not [i for i in capabilities["images"] if i.startswith("<none>")]
    assert [(info.giver_id, info.volunteer) for info in verified] == [(lent.id, "ada")]


async def test_a_new_local_image_reaches_the_seeker_in_a_report(
    seeker: Seeker,
    heard: Heard,
    giver: GiverFactory,
    new_tag: str,
    docker_client: docker.DockerClient,
) -> None:
    def has_tag(message: Message) -> bool:
        return isinstance(message, Report) and new_tag in message.capabilities.images

    async with giver("reporting", report_interval_s=REPORT_INTERVAL_S, labels={"region": "eu"}):
        (registered,) = await givers_view(seeker)
        assert new_tag not in registered["capabilities"]["images"]

        repository, _, tag = new_tag.partition(":")
        await asyncio.to_thread(docker_client.api.tag, BASE_IMAGE, repository, tag)
        tagged_at, report = await heard.first(has_tag)
        assert report.capabilities.labels == {"region": "eu"}
        assert BASE_IMAGE in report.capabilities.images

        await asyncio.to_thread(docker_client.images.remove, new_tag)
        _, untagged = await heard.first(
            lambda m: isinstance(m, Report) and not has_tag(m), start=tagged_at + 1
        )
        assert BASE_IMAGE in untagged.capabilities.images


async def test_registering_again_carries_what_the_machine_offers_now(
    tmp_path: Path, new_tag: str, docker_client: docker.DockerClient
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

    again = Giver(
        GiverConfig(
            seeker_url=f"http://127.0.0.1:{config.port}",
            data_dir=tmp_path / "again",
            name="again",
            reconnect_max_s=RECONNECT_MAX_S,
        )
    )
    try:
        async with Seeker(config) as first:
            await again.start()
            (registered,) = await online_givers(first)
            assert new_tag not in registered["capabilities"]["images"]
        repository, _, tag = new_tag.partition(":")
        await asyncio.to_thread(docker_client.api.tag, BASE_IMAGE, repository, tag)
        async with Seeker(config) as second:
            (view,) = await online_givers(second)
            assert view["giver_id"] == again.id
            assert new_tag in view["capabilities"]["images"]
    finally:
        await again.stop()
