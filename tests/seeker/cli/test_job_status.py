"""What `seeker status JOB` and `seeker submit --wait` say of a job that waits,
run as processes against a real Seeker and a real Giver."""

import asyncio

import pytest
from support.api import job_state
from support.base import BIN, JOB_TIMEOUT_S, run, until
from support.givers import GiverFactory

from seeker.daemon import Seeker

pytestmark = pytest.mark.seeker_config(open_registration=True)

UNFIT = ("--require-label", "region=mars")


async def test_status_says_why_a_job_waits_and_how_many_keys_it_discovered(
    seeker: Seeker, giver: GiverFactory
) -> None:
    earthling = giver("earthling")
    await earthling.start()
    cli = (BIN / "seeker", "--seeker", seeker.url)
    flags = ("--keys", "a", "b", *UNFIT, "--discover", "--max-discovered", "50")
    code, out, err = await run(*cli, "submit", "--image", "x:1", *flags)
    assert code == 0, err
    job_id = out.strip()
    await until(
        lambda: job_state(seeker, job_id), "a reason to wait", holds=lambda j: "waiting" in j
    )

    code, out, err = await run(*cli, "status", job_id)
    assert (code, out) == (
        0,
        f"{job_id} running: 0/2 done, 0 failed, 0 leased, 2 pending\n"
        f"  waiting: no online Giver can run this job ({earthling.id} lacks label(s) "
        "region=mars)\n"
        "  0 keys discovered (at most 50)\n",
    ), err


async def test_submit_wait_says_why_the_job_waits_each_time_the_reason_changes(
    seeker: Seeker, giver: GiverFactory
) -> None:
    submit = await asyncio.create_subprocess_exec(
        *map(str, (BIN / "seeker", "--seeker", seeker.url, "submit", "--image", "x:1")),
        *("--keys", "a", *UNFIT, "--wait"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert submit.stdout is not None

    async def line() -> str:
        assert submit.stdout is not None
        try:
            async with asyncio.timeout(JOB_TIMEOUT_S):
                return (await submit.stdout.readline()).decode()
        except TimeoutError:
            raise AssertionError(f"no line from submit --wait in {JOB_TIMEOUT_S:.0f} s") from None

    try:
        job_id = (await line()).strip()
        progress = f"{job_id} running: 0/1 done, 0 failed, 0 leased, 1 pending\n"
        assert [await line(), await line()] == [progress, "  waiting: no Giver is online\n"]
        earthling = giver("earthling")
        await earthling.start()
        assert await line() == (
            f"  waiting: no online Giver can run this job ({earthling.id} lacks label(s) "
            "region=mars)\n"
        )
        code, _, err = await run(BIN / "seeker", "--seeker", seeker.url, "cancel", job_id)
        assert code == 0, err
        async with asyncio.timeout(JOB_TIMEOUT_S):
            out, err_bytes = await submit.communicate()
    finally:
        if submit.returncode is None:
            submit.kill()
            await submit.wait()
    assert (submit.returncode, out.decode()) == (
        2,
        f"{job_id} cancelled: 0/1 done, 0 failed, 0 leased, 1 pending\n"
        f"see `seeker status {job_id}` and `seeker failures {job_id}`\n",
    ), err_bytes
