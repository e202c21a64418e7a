"""The Docker runner and output collection with real containers (tests/scrapers/faulty)."""

import asyncio
import uuid
from pathlib import Path

import demo_site
import docker
import pytest
from support.docker import containers_of, run_task

from channel.wire.models import KeyBlock, Limits, Task
from channel.wire.references import repository_of
from channel.wire.results import KeyOutcome
from channel.wire.sandbox import container_user
from giver.egress.gateway import Gateway
from giver.errors import ImageMissing
from giver.sandbox.docker_runner import GIVER_LABEL, DockerRunner, local_images
from giver.sandbox.images import ImagePolicy, LocalImage, refusal
from giver.sandbox.outputs import ContainerExit, UntrustedOutput


def faulty_task(
    image: str,
    mode: str,
    *,
    keys: tuple[str, ...] = ("a", "b", "c"),
    timeout_s: float = 60.0,
) -> Task:
    return Task(
        task_id=f"t{uuid.uuid4().hex[:8]}",
        job_id="j1",
        image=image,
        settings={"mode": mode},
        block=KeyBlock(keys=keys),
        limits=Limits(memory_bytes=128 * 1024 * 1024, cpus=0.5, pids=32, timeout_s=timeout_s),
    )


async def test_ok_round_trips_records_and_statuses(
    runner: DockerRunner, faulty_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    task = faulty_task(faulty_image, "ok")
    progress: list[tuple[int, int]] = []
    run, output = await run_task(runner, task, tmp_path / "w", progress)
    assert run == ContainerExit(exit_code=0)
    assert (output.error, output.log) == (None, "")
    assert output.records == [{"key": k, "data": {"echo": k}} for k in ("a", "b", "c")]
    assert output.outcomes == [KeyOutcome(k, True) for k in ("a", "b", "c")]
    assert progress[-1] == (3, 3)
    assert containers_of(docker_client, runner) == []


async def test_range_block_reaches_the_container(
    runner: DockerRunner, faulty_image: str, tmp_path: Path
) -> None:
    task = faulty_task(faulty_image, "ok")
    task = Task(
        task.task_id,
        task.job_id,
        task.image,
        task.settings,
        KeyBlock(start=10, stop=13),
        limits=task.limits,
    )
    _, output = await run_task(runner, task, tmp_path / "w")
    assert [r["key"] for r in output.records] == ["10", "11", "12"]
    assert [(o.key, o.ok) for o in output.outcomes] == [("10", True), ("11", True), ("12", True)]


async def test_exit_code_and_stderr_name_the_failure(
    runner: DockerRunner, faulty_image: str, tmp_path: Path
) -> None:
    run, output = await run_task(runner, faulty_task(faulty_image, "exit"), tmp_path / "w")
    assert run.exit_code == 3
    assert output.error == "scraper exited with code 3: faulty: giving up on purpose"
    assert output.log == "faulty: giving up on purpose\n"
    assert output.records == []
    assert output.outcomes == [
        KeyOutcome(k, False, "no status reported by the scraper") for k in ("a", "b", "c")
    ]


async def test_timeout_kills_and_removes_the_container(
    runner: DockerRunner, faulty_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    run, output = await run_task(
        runner, faulty_task(faulty_image, "sleep", timeout_s=2), tmp_path / "w"
    )
    assert run.timed_out
    assert output.error == "timed out after 2 s"
    assert containers_of(docker_client, runner) == []


async def test_lines_written_before_a_timeout_count(
    runner: DockerRunner, faulty_image: str, tmp_path: Path
) -> None:
    run, output = await run_task(
        runner, faulty_task(faulty_image, "stall", timeout_s=2), tmp_path / "w"
    )
    assert run.timed_out
    assert output.error == "timed out after 2 s"
    assert output.records == [{"key": "a", "data": {"echo": "a"}}]
    assert output.outcomes[0] == KeyOutcome("a", True)
    assert [o.ok for o in output.outcomes[1:]] == [False, False]


async def test_garbage_makes_the_output_untrusted(
    runner: DockerRunner, faulty_image: str, tmp_path: Path
) -> None:
    run, output = await run_task(runner, faulty_task(faulty_image, "garbage"), tmp_path / "w")
    assert run.exit_code == 0
    assert isinstance(output, UntrustedOutput)
    assert output.reason.startswith("records.jsonl line 1: not valid JSON")


async def test_scraper_runs_sandboxed(
    runner: DockerRunner, faulty_image: str, tmp_path: Path
) -> None:
    _, output = await run_task(
        runner, faulty_task(faulty_image, "whoami", keys=("k",)), tmp_path / "w"
    )
    assert output.error is None
    assert output.records[0]["data"] == {
        "uid": 65534,
        "gid": 65534,
        "cap_eff": "0000000000000000",
        "no_new_privs": "1",
        "root_writable": False,
    }


async def test_container_is_created_with_the_limits(
    runner: DockerRunner, faulty_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    task = faulty_task(faulty_image, "stall")
    started = asyncio.Event()
    image = await runner.resolve_image(task.image)
    assert image is not None
    running = asyncio.ensure_future(
        runner.run(task, image.id, tmp_path / "w", lambda d, t: started.set())
    )
    await started.wait()
    [container] = containers_of(docker_client, runner)
    host = container.attrs["HostConfig"]
    assert container.name == f"seekgive-{runner.giver_id}-{task.task_id}"
    assert container.attrs["Config"]["User"] == "65534:65534"
    assert "SEEKGIVE_CONTRACT=1" in container.attrs["Config"]["Env"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Memory"] == host["MemorySwap"] == 128 * 1024 * 1024
    assert host["NanoCpus"] == 500_000_000
    assert host["PidsLimit"] == 32
    assert host["NetworkMode"] == "none"
    assert host["Tmpfs"] == {"/tmp": "rw,noexec,nosuid,nodev,size=64m"}
    output_bytes = task.limits.output_bytes
    assert host["Ulimits"] == [{"Name": "fsize", "Soft": output_bytes, "Hard": output_bytes}]
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert containers_of(docker_client, runner) == []


async def test_missing_image_is_not_pulled(runner: DockerRunner, tmp_path: Path) -> None:
    task = faulty_task("seekgive-test/never-built:0", "ok")
    assert await runner.resolve_image(task.image) is None
    never_built = "sha256:" + "0" * 64
    with pytest.raises(ImageMissing, match=never_built):
        await runner.run(task, never_built, tmp_path / "w", lambda d, t: None)


async def test_leftovers_of_a_crashed_run_are_removed(
    runner: DockerRunner, faulty_image: str, docker_client: docker.DockerClient
) -> None:
    docker_client.containers.create(faulty_image, labels={GIVER_LABEL: runner.giver_id})
    assert await runner.remove_leftovers() == 1
    assert containers_of(docker_client, runner) == []


async def test_catalog_scrapes_the_demo_site(
    runner: DockerRunner,
    catalog_image: str,
    demo_site_url: str,
    site_gateway: Gateway,
    tmp_path: Path,
) -> None:
    task = Task(
        task_id=f"t{uuid.uuid4().hex[:8]}",
        job_id="catalog",
        image=catalog_image,
        settings={"base_url": demo_site_url},
        block=KeyBlock(keys=("1", "42", "9999")),
        network="bridge",
        limits=Limits(memory_bytes=256 * 1024 * 1024, pids=64, timeout_s=60),
    )
    progress: list[tuple[int, int]] = []
    run, output = await run_task(runner, task, tmp_path / "w", progress, site_gateway)
    assert run.exit_code == 0, run.stderr_tail
    assert output.error is None
    assert output.records == [
        {"key": k, "data": {**demo_site.product(int(k)), "url": f"{demo_site_url}/products/{k}"}}
        for k in ("1", "42")
    ]
    assert output.outcomes == [
        KeyOutcome("1", True),
        KeyOutcome("42", True),
        KeyOutcome("9999", False, "not found"),
    ]
    assert progress[-1] == (3, 3)


async def test_local_images_name_tags_ids_and_scrapers_but_no_placeholders(
    runner: DockerRunner,
    faulty_image: str,
    catalog_image: str,
    docker_client: docker.DockerClient,
) -> None:
    images = {image.id: image for image in await runner.local_images()}
    faulty = images[(await asyncio.to_thread(docker_client.images.get, faulty_image)).id]
    catalog = images[(await asyncio.to_thread(docker_client.images.get, catalog_image)).id]
    assert faulty_image in faulty.tags and not faulty.scraper
    assert catalog_image in catalog.tags and catalog.scraper and catalog.contract == "1"
    assert not [t for i in images.values() for t in (*i.tags, *i.repo_digests) if "<none>" in t]


def test_local_images_skip_placeholders_and_keep_the_newest_first() -> None:
    listed = [
        {"Id": "sha256:old", "Created": 1, "RepoTags": ["a:1", "a:latest"], "RepoDigests": None},
        {
            "Id": "sha256:new",
            "Created": 2,
            "RepoTags": ["b:1"],
            "RepoDigests": ["b@sha256:d1"],
            "Labels": {"seekgive.settings-schema": "{}", "seekgive.contract": "2"},
        },
        {"Id": "sha256:dangling", "RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"]},
    ]
    assert local_images(listed) == [
        LocalImage("sha256:new", ("b:1",), ("b@sha256:d1",), contract="2", scraper=True),
        LocalImage("sha256:old", ("a:1", "a:latest"), ()),
        LocalImage("sha256:dangling", (), ()),
    ]


def test_container_user_is_never_root() -> None:
    assert container_user("") == "65534:65534"
    assert container_user(None) == "65534:65534"
    assert container_user("root") == "65534:65534"
    assert container_user("0:0") == "65534:65534"
    assert container_user("00") == "65534:65534"
    assert container_user("0000:0") == "65534:65534"
    assert container_user("scraper") == "65534:65534"
    assert container_user("1000:1000") == "1000:1000"
    assert container_user("1000") == "1000:1000"
    assert container_user("1000:staff") == "65534:65534"


async def test_a_task_runs_the_image_resolved_at_acceptance_though_its_tag_moved(
    runner: DockerRunner,
    faulty_image: str,
    catalog_image: str,
    new_tag: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    repository, _, tag = new_tag.partition(":")
    docker_client.images.get(faulty_image).tag(repository, tag)
    task = faulty_task(new_tag, "stall")
    accepted = await runner.resolve_image(task.image)
    assert accepted is not None and accepted.id == docker_client.images.get(faulty_image).id
    docker_client.images.get(catalog_image).tag(repository, tag)
    started = asyncio.Event()
    running = asyncio.ensure_future(
        runner.run(task, accepted.id, tmp_path / "w", lambda d, t: started.set())
    )
    async with asyncio.timeout(30):
        await started.wait()
    [container] = containers_of(docker_client, runner)
    assert container.attrs["Image"] == accepted.id
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_an_image_pinned_by_digest_must_match_the_local_image(
    runner: DockerRunner, faulty_image: str, catalog_image: str, docker_client: docker.DockerClient
) -> None:
    faulty_id = docker_client.images.get(faulty_image).id
    repository = repository_of(faulty_image)
    pinned = await runner.resolve_image(f"{repository}@{faulty_id}")
    assert pinned is not None and pinned.id == faulty_id
    assert refusal(f"{repository}@{faulty_id}", pinned, ImagePolicy([])) == ""
    # The digest is that of another repository's image: refused.
    mismatched = f"{repository_of(catalog_image)}@{faulty_id}"
    found = await runner.resolve_image(mismatched)
    assert "does not match the local image" in refusal(mismatched, found, ImagePolicy([]))
    absent = f"{repository}@sha256:{'0' * 64}"
    assert await runner.resolve_image(absent) is None
    assert "is not present" in refusal(absent, None, ImagePolicy([]))
