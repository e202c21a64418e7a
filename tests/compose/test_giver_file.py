"""compose/giver.yaml as Compose reads it: every setting a volunteer may give
reaches the Giver, and an env file without what the Giver cannot run without
stops Compose with one line naming it, before anything is made."""

import json
import os
from pathlib import Path

import docker
import pytest
from support.base import run
from support.compose import COMPOSE_DIR, Project, leftovers, write_env_file

from giver.terms.table import ENV_PREFIX, SETTINGS

# Settings the compose file does not pass: LAN mode, where the Seeker dials the
# Giver (the file dials a Seeker), the token file (the file takes the token from
# the env file, which nothing but the volunteer reads), and those without a flag
# (timings for tests).
NOT_PASSED = {"lan", "listen", "mdns_interfaces", "token_file"}
REQUIRED = {
    "SEEKGIVE_GIVER_SEEKER": "http://127.0.0.1:9",
    "SEEKGIVE_GIVER_TOKEN": "sgt_unused",
    "SEEKGIVE_DOCKER_GID": 0,
}


def giver_file(tmp_path: Path, env: dict[str, object]) -> Project:
    return Project(
        f"seekgive-test-giver-file-{os.getpid()}",
        (COMPOSE_DIR / "giver.yaml",),
        write_env_file(tmp_path / "giver.env", env),
    )


async def test_every_setting_of_a_volunteer_passes_from_the_env_file_to_the_giver(
    tmp_path: Path,
) -> None:
    given = {s.env(ENV_PREFIX): f"value-{n}" for n, s in enumerate(SETTINGS)}
    project = giver_file(tmp_path, {**REQUIRED, **given, "SEEKGIVE_GIVER_DATA_DIR": tmp_path})
    config = json.loads(await project.compose("config", "--format", "json"))
    environment = config["services"]["giver"]["environment"]
    passed = {
        s.key
        for s in SETTINGS
        if environment.get(s.env(ENV_PREFIX)) == given.get(s.env(ENV_PREFIX))
    }
    assert {s.key for s in SETTINGS if s.flag} - NOT_PASSED - passed == set()
    assert environment["SEEKGIVE_GIVER_DATA_DIR"] == str(tmp_path)
    assert config["services"]["giver"]["volumes"][1]["target"] == str(tmp_path)


@pytest.mark.parametrize("missing", ["SEEKGIVE_GIVER_SEEKER", "SEEKGIVE_GIVER_TOKEN"])
async def test_an_env_file_without_the_seeker_or_the_token_stops_compose_with_one_line(
    tmp_path: Path, docker_client: docker.DockerClient, missing: str
) -> None:
    env = {name: value for name, value in REQUIRED.items() if name != missing}
    project = giver_file(tmp_path, {**env, missing: ""})
    code, _, err = await run(*project.argv("up", "--detach"))
    assert code != 0
    assert err.strip().count("\n") == 0, err
    assert f"required variable {missing} is missing a value: set {missing} in the env file" in err
    assert leftovers(docker_client, project.name) == []
