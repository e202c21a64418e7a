"""`seeker replay`, run as a process against a real Seeker whose real Giver ran a
failing scraper (tests/scrapers/faulty): the directory it writes, and the
`docker run` line it prints, which fails the key again the same way."""

from pathlib import Path

import docker
import pytest
from support.api import Grid, submit_and_wait
from support.base import BIN, operator_token_file, run

from channel.wire import canonical
from channel.wire.models import Limits
from seeker.cli.replay import command
from seeker.daemon import Seeker

FAILURE_LINE = "faulty: giving up on purpose\n"


async def seeker_replay(seeker: Seeker, tmp_path: Path, *argv: object) -> tuple[int, str, str]:
    token = operator_token_file(tmp_path)
    return await run(BIN / "seeker", "--seeker", seeker.url, "--token-file", token, *argv)


async def test_a_failed_key_is_written_out_and_its_docker_line_fails_it_again(
    grid: Grid, faulty_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    seeker = await grid(givers=1)
    job = await submit_and_wait(
        seeker,
        {
            "image": faulty_image,
            "keys": ["a", "b/2"],
            "settings": {"mode": "exit"},
            "max_attempts": 1,
        },
    )
    assert job["keys"]["failed"] == 2
    target = tmp_path / "replayed"
    code, out, err = await seeker_replay(
        seeker, tmp_path, "replay", job["job_id"], "b/2", "--dir", target
    )
    assert code == 0, err
    facts = canonical.loads((target / "replay.json").read_bytes())
    assert facts["image"] == faulty_image
    assert facts["image_id"] == docker_client.images.get(faulty_image).id
    assert (facts["settings"], facts["network"]) == ({"mode": "exit"}, "none")
    assert facts["reason"] == "scraper exited with code 3: faulty: giving up on purpose"
    # The task input as the Giver wrote it for the container, to the byte.
    assert (target / "input" / "task.json").read_bytes() == canonical.dumps(
        {
            "contract": 1,
            "task_id": facts["task_id"],
            "job_id": job["job_id"],
            "settings": {"mode": "exit"},
            "keys": ["a", "b/2"],
        }
    )
    assert (target / "log.txt").read_text() == FAILURE_LINE
    assert f"wrote {target}" in err and f"id {facts['image_id']}" in err

    [line] = out.splitlines()
    assert line.startswith("docker run --rm --read-only ") and line.endswith(facts["image_id"])
    assert "--network=none" in line and "--cap-drop=ALL" in line
    code, _, replayed = await run("sh", "-c", line)
    assert (code, replayed) == (3, FAILURE_LINE)
    assert list((target / "output").iterdir()) == []


async def test_what_cannot_be_replayed_is_refused_in_one_line_writing_nothing(
    grid: Grid, faulty_image: str, tmp_path: Path
) -> None:
    seeker = await grid(givers=1)
    done = await submit_and_wait(
        seeker, {"image": faulty_image, "keys": ["a"], "settings": {"mode": "ok"}}
    )
    job_id = done["job_id"]
    target = tmp_path / "replayed"
    refusals = [
        (("jnothere0000", "a"), "seeker: error: no job 'jnothere0000'\n"),
        (
            (job_id, "zz"),
            f"seeker: error: job {job_id} has no key 'zz' in its blocks (give a key as "
            f"`seeker failures {job_id}` lists it)\n",
        ),
        (
            (job_id, "a"),
            f"seeker: error: key 'a' of job {job_id} has not failed; only a failed key can "
            "be replayed\n",
        ),
    ]
    for (job, key), said in refusals:
        code, out, err = await seeker_replay(seeker, tmp_path, "replay", job, key, "--dir", target)
        assert (code, out, err) == (1, "", said)
        assert not target.exists()
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    code, _, err = await seeker_replay(seeker, tmp_path, "replay", job_id, "a", "--dir", target)
    assert (code, err) == (
        1,
        f"seeker: error: {target} exists and is not empty; give another --dir or remove it\n",
    )
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


@pytest.mark.unit
def test_a_job_that_reaches_the_network_gets_a_door_of_an_egress_gateway() -> None:
    replay = {
        "image": "seekgive/words:1",
        "image_id": "",
        "network": "bridge",
        "limits": Limits(memory_bytes=2**28, cpus=0.5).to_wire(),
    }
    gateway, wait, line = command(replay, Path("/srv/my try"), "1000:1000").splitlines()
    assert gateway == "python scripts/egress_door.py '/srv/my try/gateway' > '/srv/my try/door' &"
    assert wait == "until [ -s '/srv/my try/door' ]; do sleep 0.2; done"
    assert line == (
        "docker run --rm --read-only --tmpfs=/tmp:rw,noexec,nosuid,nodev,size=64m "
        "--cap-drop=ALL --security-opt=no-new-privileges --user=1000:1000 "
        "--memory=268435456 --memory-swap=268435456 --cpus=0.5 --pids-limit=128 "
        "--ulimit=fsize=33554432:33554432 --network=none "
        "'--volume=/srv/my try/input:/input:ro' '--volume=/srv/my try/output:/output:rw' "
        "--volume=\"$(cat '/srv/my try/door')\":/egress:ro "
        "--env=SEEKGIVE_CONTRACT=1 --env=SEEKGIVE_EGRESS=/egress/proxy.sock seekgive/words:1"
    )
