"""Periodic jobs on real Seekers and real stores, with a wall clock the tests move.

A schedule fires on its tick and not before; skips a tick while its previous
job runs (unless overlap is allowed); keeps its latest runs, deleting the
finished jobs of those it prunes; fires once for ticks missed while no Seeker
led; never makes a tick's job twice across a restart at any step of firing;
and only the leader fires. The API and the
`seeker schedule` commands refuse bad schedules with one clear error and store
nothing.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.base import BIN, OPERATOR_HEADERS, OPERATOR_TOKEN, run

from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import StateUnavailable
from seeker.grid import actions
from seeker.schedules import firing
from seeker.schedules.model import Due, stamp
from seeker.views.display import moment

# 2023-11-14 22:13:20 UTC
T0 = 1_700_000_000.0
HOUR_S = 3600
SETTLE_TIMEOUT_S = 30.0
TAKEOVER_TIMEOUT_S = 30.0
POLL_S = 0.05
JOB = {"image": "x:1", "range": [0, 10]}


class ManualClock:
    """A wall clock that moves only when the test moves it; `sleep` ends once the
    clock has reached its end."""

    def __init__(self, now: float) -> None:
        self.t = now
        # What each sleeper waits for: the time it wakes at.
        self.sleepers: dict[object, float] = {}
        # How many times anyone went to sleep.
        self.naps = 0
        self._changed = asyncio.Condition()

    def now(self) -> float:
        return self.t

    async def sleep(self, delay_s: float) -> None:
        token = object()
        async with self._changed:
            self.sleepers[token] = self.t + delay_s
            self.naps += 1
            self._changed.notify_all()
            try:
                await self._changed.wait_for(lambda: self.t >= self.sleepers[token])
            finally:
                del self.sleepers[token]
                self._changed.notify_all()

    def _quiet(self) -> bool:
        """Someone sleeps and everyone sleeping sleeps past now: nothing is under way."""
        return bool(self.sleepers) and all(until > self.t for until in self.sleepers.values())

    async def quiet(self, naps: int = 0) -> None:
        """Until the schedule loop has slept more than `naps` times in all, and has
        done what is due and sleeps (after a change that woke it, pass `naps` as it
        was before the change)."""
        async with asyncio.timeout(SETTLE_TIMEOUT_S), self._changed:
            await self._changed.wait_for(lambda: self.naps > naps and self._quiet())

    async def advance_to(self, t: float) -> None:
        """Move the clock to `t`, and wait until what fell due by then is done."""
        async with asyncio.timeout(SETTLE_TIMEOUT_S), self._changed:
            self.t = t
            self._changed.notify_all()
            await self._changed.wait_for(self._quiet)


def config(data_dir: Path, state_url: str = "", lease_s: float = 15.0) -> SeekerConfig:
    return SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=data_dir,
        state_url=state_url,
        poll_interval_s=POLL_S,
        leader_lease_s=lease_s,
    )


class Api:
    """The Seeker's JSON API: each call is (status, body)."""

    def __init__(self, http: aiohttp.ClientSession, seeker: Seeker, clock: ManualClock) -> None:
        self.http, self.seeker, self.url, self.clock = http, seeker, seeker.url, clock

    async def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.url}/api/v1{path}", json=body) as response:
            return response.status, await response.json()

    async def add(self, **fields: Any) -> dict[str, Any]:
        """Add a schedule, and wait until the schedule loop it woke sleeps again."""
        naps = self.clock.naps
        status, schedule = await self("POST", "/schedules", {"job": JOB, **fields})
        assert status == 201, schedule
        await self.clock.quiet(naps)
        return schedule

    async def schedule(self, ref: str) -> dict[str, Any]:
        status, schedule = await self("GET", f"/schedules/{ref}")
        assert status == 200, schedule
        return schedule

    async def job_ids(self) -> list[str]:
        status, body = await self("GET", "/jobs")
        assert status == 200
        return sorted(job["job_id"] for job in body["jobs"])


@asynccontextmanager
async def running(seeker: Seeker, clock: ManualClock) -> AsyncIterator[Api]:
    """The Seeker started, once its schedule loop sleeps."""
    async with seeker, aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        await clock.quiet()
        yield Api(http, seeker, clock)


def job_id(schedule: dict[str, Any], tick: float) -> str:
    return f"{schedule['schedule_id']}-{stamp(tick)}"


def outcomes(schedule: dict[str, Any]) -> list[tuple[float, str, str | None]]:
    return [(run["tick"], run["outcome"], run["job_id"]) for run in schedule["runs"]]


async def test_an_interval_schedule_fires_on_its_tick_and_not_before(
    tmp_path: Path, state_url: str
) -> None:
    clock = ManualClock(T0 + 0.25)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=clock), clock) as api:
        schedule = await api.add(name="hourly", every_s=HOUR_S, overlap="allow")
        tick = T0 + HOUR_S
        assert (schedule["created_at"], schedule["next_at"]) == (T0, tick)
        await clock.advance_to(tick - 1)
        assert await api.job_ids() == []
        assert (await api.schedule("hourly"))["runs"] == []

        await clock.advance_to(tick)
        assert await api.job_ids() == [job_id(schedule, tick)]
        status, job = await api("GET", f"/jobs/{job_id(schedule, tick)}")
        assert (status, job["status"], job["keys"]["total"]) == (200, "running", 10)
        shown = await api.schedule(schedule["schedule_id"])
        assert outcomes(shown) == [(tick, "created", job_id(schedule, tick))]
        assert (shown["next_at"], shown["last_job_id"]) == (tick + HOUR_S, job_id(schedule, tick))

        await clock.advance_to(tick + HOUR_S + 59)
        assert await api.job_ids() == sorted(job_id(schedule, t) for t in (tick, tick + HOUR_S))


async def test_a_cron_schedule_fires_at_its_wall_time_in_its_time_zone(tmp_path: Path) -> None:
    clock = ManualClock(1_711_800_000.0)  # 2024-03-30 12:00 UTC, before Paris springs forward
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        schedule = await api.add(name="nightly", cron="0 3 * * *", timezone="Europe/Paris")
        # 03:00 on the 31st is summer time already: 01:00 UTC.
        first = 1_711_846_800.0
        assert (schedule["cron"], schedule["next_at"]) == ("0 3 * * *", first)
        await clock.advance_to(first + 30)
        assert await api.job_ids() == [f"{schedule['schedule_id']}-20240331T010000Z"]
        assert (await api.schedule("nightly"))["next_at"] == first + 86_400


async def test_overlap_skips_a_tick_while_the_previous_job_runs_unless_allowed(
    tmp_path: Path, state_url: str
) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=clock), clock) as api:
        skip = await api.add(name="skip", every_s=HOUR_S)
        allow = await api.add(name="allow", every_s=HOUR_S, overlap="allow")
        assert (skip["overlap"], allow["overlap"]) == ("skip", "allow")
        ticks = [T0 + n * HOUR_S for n in range(1, 5)]
        first = job_id(skip, ticks[0])
        await clock.advance_to(ticks[0])
        # No Giver runs it: the first job keeps running.
        await clock.advance_to(ticks[1])
        status, _ = await api("POST", f"/jobs/{first}/pause")
        assert status == 200
        await clock.advance_to(ticks[2])
        status, _ = await api("POST", f"/jobs/{first}/cancel")
        assert status == 200
        await clock.advance_to(ticks[3])

        assert outcomes(await api.schedule("skip")) == [
            (ticks[3], "created", job_id(skip, ticks[3])),
            (ticks[2], "skipped", None),
            (ticks[1], "skipped", None),
            (ticks[0], "created", first),
        ]
        reasons = [run["reason"] for run in (await api.schedule("skip"))["runs"]]
        assert reasons[1:3] == [
            f"job {first} of an earlier tick is still paused",
            f"job {first} of an earlier tick is still running",
        ]
        assert [o for _, o, _ in outcomes(await api.schedule("allow"))] == ["created"] * 4
        assert await api.job_ids() == sorted(
            [first, job_id(skip, ticks[3])] + [job_id(allow, t) for t in ticks]
        )


async def test_the_history_keeps_the_latest_runs_and_a_failed_tick_moves_on(
    tmp_path: Path, state_url: str
) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=clock), clock) as api:
        kept = await api.add(name="kept", every_s=HOUR_S, overlap="allow", keep_runs=3)
        await api.add(
            name="failing",
            every_s=HOUR_S,
            job={"image": "x:1", "from_job": {"job_id": "jnone", "field": "url"}},
        )
        ticks = [T0 + n * HOUR_S for n in range(1, 6)]
        for tick in ticks:
            await clock.advance_to(tick)

        assert outcomes(await api.schedule("kept")) == [
            (tick, "created", job_id(kept, tick)) for tick in reversed(ticks[2:])
        ]
        # The jobs of the pruned runs still run, so they stay; only the history goes.
        assert set(await api.job_ids()) == {job_id(kept, tick) for tick in ticks}
        shown = await api.schedule("failing")
        assert [o for _, o, _ in outcomes(shown)] == ["failed"] * 5
        assert shown["runs"][0]["reason"] == "from_job: no job 'jnone'"
        assert (shown["next_at"], shown["last_job_id"]) == (ticks[-1] + HOUR_S, None)


async def test_the_runs_pruned_take_their_finished_jobs_with_them(
    tmp_path: Path, state_url: str
) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=clock), clock) as api:
        schedule = await api.add(name="pruned", every_s=HOUR_S, overlap="allow", keep_runs=2)
        ticks = [T0 + n * HOUR_S for n in range(1, 5)]
        for tick in ticks:
            await clock.advance_to(tick)
            status, cancelled = await api("POST", f"/jobs/{job_id(schedule, tick)}/cancel")
            assert status == 200, cancelled

        assert [run[2] for run in outcomes(await api.schedule("pruned"))] == [
            job_id(schedule, tick) for tick in reversed(ticks[2:])
        ]
        assert await api.job_ids() == sorted(job_id(schedule, tick) for tick in ticks[2:])
        status, gone = await api("GET", f"/jobs/{job_id(schedule, ticks[0])}")
        assert (status, gone["code"]) == (404, "unknown_job")


async def test_ticks_missed_while_no_seeker_led_fire_once_and_are_recorded_together(
    tmp_path: Path, state_url: str
) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=clock), clock) as api:
        schedule = await api.add(name="hourly", every_s=HOUR_S, overlap="allow")
    # Down for five ticks and a half.
    later = ManualClock(T0 + 5.5 * HOUR_S)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=later), later) as api:
        latest = T0 + 5 * HOUR_S
        assert await api.job_ids() == [job_id(schedule, latest)]
        shown = await api.schedule("hourly")
        assert outcomes(shown) == [
            (latest, "created", job_id(schedule, latest)),
            (T0 + HOUR_S, "missed", None),
        ]
        assert shown["runs"][1]["reason"] == (
            "missed 4 tick(s) from 2023-11-14 23:13:20 UTC to 2023-11-15 02:13:20 UTC "
            "while no Seeker led"
        )
        assert shown["next_at"] == latest + HOUR_S


async def test_a_tick_that_cannot_be_made_for_now_is_tried_again_and_holds_up_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = actions.create_job
    tries: list[str] = []

    async def store_down_once(keys: Any, spec: Any, **options: Any) -> Any:
        tries.append(options["job_id"])
        if spec.name == "flaky" and len(tries) == 1:
            raise StateUnavailable("the state store is unreachable", url="sqlite:///state")
        return await made(keys, spec, **options)

    monkeypatch.setattr(actions, "create_job", store_down_once)
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        flaky = await api.add(name="flaky", every_s=HOUR_S, job={**JOB, "name": "flaky"})
        await clock.advance_to(T0 + 1)
        steady = await api.add(name="steady", every_s=HOUR_S)
        tick = T0 + HOUR_S
        await clock.advance_to(tick + 1)
        assert tries == [job_id(flaky, tick), job_id(steady, tick + 1)]
        assert await api.job_ids() == [job_id(steady, tick + 1)]
        shown = await api.schedule("flaky")
        assert (shown["runs"], shown["next_at"]) == ([], tick)

        await clock.advance_to(tick + 1 + firing.RETRY_S)
        assert tries[2:] == [job_id(flaky, tick)]
        assert await api.job_ids() == sorted([job_id(flaky, tick), job_id(steady, tick + 1)])
        shown = await api.schedule("flaky")
        assert outcomes(shown) == [(tick, "created", job_id(flaky, tick))]
        assert shown["next_at"] == tick + HOUR_S


@pytest.mark.parametrize("stop_after", ["firing recorded", "job made", "run recorded"])
async def test_a_seeker_stopped_while_firing_a_tick_leaves_it_to_the_next_once(
    tmp_path: Path, state_url: str, stop_after: str
) -> None:
    """Firing's steps are driven by hand up to `stop_after`; the Seeker stops there,
    and the one started next finishes the tick: one job, one run."""
    clock = ManualClock(T0)
    tick = T0 + HOUR_S
    async with running(Seeker(config(tmp_path / "s", state_url), clock=clock), clock) as api:
        added = await api.add(name="hourly", every_s=HOUR_S)
        service = api.seeker.periodic
        assert service is not None
        naps = clock.naps
        due = Due(tick)
        schedule = await service.mark_firing(await service.find("hourly"), due)
        if stop_after != "firing recorded":
            run = await service.make_tick_job(schedule, due)
            assert run.job_id == job_id(added, tick)
            if stop_after == "run recorded":
                await service.record(schedule, due, run)
        # The loop slept all along (the clock did not move): it took no step of its own.
        assert (clock.naps, len(clock.sleepers)) == (naps, 1)
    later = ManualClock(tick + 30)
    async with running(Seeker(config(tmp_path / "s", state_url), clock=later), later) as api:
        assert await api.job_ids() == [job_id(added, tick)]
        shown = await api.schedule("hourly")
        assert outcomes(shown) == [(tick, "created", job_id(added, tick))]
        assert (shown["next_at"], shown["last_job_id"]) == (tick + HOUR_S, job_id(added, tick))


async def test_a_seeker_standing_by_never_fires_and_fires_once_it_leads(
    tmp_path: Path, mongo_url: str
) -> None:
    clock = ManualClock(T0)
    ticks = [T0 + HOUR_S, T0 + 2 * HOUR_S]
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession(headers=OPERATOR_HEADERS))
        first = await stack.enter_async_context(
            Seeker(config(tmp_path / "a", mongo_url, lease_s=2.0), clock=clock)
        )
        second = await stack.enter_async_context(
            Seeker(config(tmp_path / "b", mongo_url, lease_s=2.0), clock=clock)
        )
        assert first.leadership and first.leadership.leading
        assert second.leadership and not second.leadership.leading
        await clock.quiet()
        api, standby = Api(http, first, clock), Api(http, second, clock)
        schedule = await api.add(name="hourly", every_s=HOUR_S, overlap="allow")
        status, error = await standby("POST", "/schedules", {"name": "x", "every_s": 60})
        assert (status, error["code"]) == (503, "not_leader")
        await clock.advance_to(ticks[0])
        # Only the leader's schedule loop sleeps on the clock.
        assert len(clock.sleepers) == 1
        assert await api.job_ids() == [job_id(schedule, ticks[0])]

        await first.stop()
        async with asyncio.timeout(TAKEOVER_TIMEOUT_S):
            while not second.leadership.leading:  # noqa: ASYNC110
                await asyncio.sleep(POLL_S)
        await clock.quiet()
        api = Api(http, second, clock)
        assert outcomes(await api.schedule("hourly")) == [
            (ticks[0], "created", job_id(schedule, ticks[0]))
        ]
        await clock.advance_to(ticks[1])
        assert len(clock.sleepers) == 1
        assert await api.job_ids() == [job_id(schedule, t) for t in ticks]
        assert [o for _, o, _ in outcomes(await api.schedule("hourly"))] == ["created"] * 2


async def test_a_schedule_is_listed_shown_paused_resumed_and_removed(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        # A whole number of seconds written as a float is taken as it is meant.
        schedule = await api.add(name="hourly", every_s=3600.0, keep_runs=7, overlap="allow")
        sid = schedule["schedule_id"]
        assert schedule == {
            "schedule_id": sid,
            "name": "hourly",
            "every_s": HOUR_S,
            "job": JOB,
            "created_at": T0,
            "next_at": T0 + HOUR_S,
            "overlap": "allow",
            "keep_runs": 7,
            "paused": False,
            "last_job_id": None,
        }
        assert await api("GET", "/schedules") == (200, {"schedules": [schedule]})
        assert await api.schedule(sid) == {**schedule, "runs": []}

        status, paused = await api("POST", "/schedules/hourly/pause")
        assert (status, paused["paused"]) == (200, True)
        assert (await api("POST", f"/schedules/{sid}/pause"))[1] == paused
        # Paused over three ticks: nothing fires, nothing is made up for on resuming.
        await clock.advance_to(T0 + 3.5 * HOUR_S)
        naps = clock.naps
        status, resumed = await api("POST", f"/schedules/{sid}/resume")
        assert (status, resumed["paused"], resumed["next_at"]) == (200, False, T0 + 4 * HOUR_S)
        await clock.quiet(naps)
        assert await api.job_ids() == []
        assert (await api.schedule(sid))["runs"] == []
        await clock.advance_to(T0 + 4 * HOUR_S)
        assert await api.job_ids() == [job_id(schedule, T0 + 4 * HOUR_S)]

        status, removed = await api("DELETE", "/schedules/hourly")
        assert (status, removed["schedule_id"], removed["removed"]) == (200, sid, True)
        assert await api("GET", "/schedules") == (200, {"schedules": []})
        # Its jobs stay.
        assert await api.job_ids() == [job_id(schedule, T0 + 4 * HOUR_S)]
        for method, path in (
            ("GET", "/schedules/hourly"),
            ("POST", f"/schedules/{sid}/pause"),
            ("POST", f"/schedules/{sid}/resume"),
            ("DELETE", f"/schedules/{sid}"),
        ):
            assert await api(method, path) == (
                404,
                {"code": "unknown_schedule", "message": f"no schedule {path.split('/')[2]!r}"},
            )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "a schedule must be a JSON object"),
        ({"every_s": 3600, "job": JOB}, "name is required"),
        ({"name": "x", "every_s": 3600, "job": JOB, "when": 1}, "unknown field(s): when"),
        ({"name": "x", "job": JOB}, "give every_s (seconds between ticks) or cron"),
        ({"name": "x", "every_s": 60, "cron": "* * * * *", "job": JOB}, "exactly one"),
        ({"name": "x", "every_s": 59, "job": JOB}, "every_s must be a whole number of seconds"),
        ({"name": "x", "every_s": 90.5, "job": JOB}, "every_s must be a whole number"),
        ({"name": "x", "every_s": 60, "timezone": "UTC", "job": JOB}, "timezone goes with cron"),
        ({"name": "x", "cron": "0 3 * *", "job": JOB}, "has 4 field(s)"),
        ({"name": "x", "cron": "0 3 * * *", "timezone": "Nowhere", "job": JOB}, "IANA"),
        ({"name": "x", "every_s": 60}, "job is required"),
        ({"name": "x", "every_s": 60, "job": {"range": [0, 1]}}, "job: image is required"),
        (
            {"name": "x", "every_s": 60, "job": {"image": "x:1"}},
            "job: no keys: a schedule's job names its keys in its body",
        ),
        ({"name": "x", "every_s": 60, "job": {**JOB, "keys": []}}, "job: give one key source"),
        ({"name": "x", "every_s": 60, "job": JOB, "overlap": "queue"}, 'overlap must be "skip"'),
        ({"name": "x", "every_s": 60, "job": JOB, "keep_runs": 0}, "keep_runs must be"),
        ({"name": "x", "every_s": 60, "job": JOB, "paused": "no"}, "paused must be true"),
        ({"name": "taken", "every_s": 60, "job": JOB}, "a schedule named 'taken' exists already"),
    ],
)
async def test_a_bad_schedule_is_one_clear_error_and_nothing_is_stored(
    tmp_path: Path, body: Any, message: str
) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        taken = await api.add(name="taken", every_s=HOUR_S)
        status, error = await api("POST", "/schedules", body)
        assert (status, error["code"]) == (400, "invalid_schedule")
        assert message in error["message"]
        assert await api("GET", "/schedules") == (200, {"schedules": [taken]})


async def seeker_cli(url: str, *argv: object) -> tuple[int, str, str]:
    return await run(BIN / "seeker", "--seeker", url, "schedule", *argv)


async def test_the_cli_adds_lists_shows_pauses_resumes_and_removes_schedules(
    tmp_path: Path,
) -> None:
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(JOB))
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        naps = clock.naps
        code, out, err = await seeker_cli(
            api.url, "add", "nightly/eu", "--cron", "0 3 * * *", "--timezone", "Europe/Paris",
            "--job", job_file,
        )  # fmt: skip
        assert code == 0, err
        nightly = await api.schedule(out.strip())
        nightly_line = (
            f"{nightly['schedule_id']} 'nightly/eu': cron '0 3 * * *' (Europe/Paris); "
            f"next {moment(nightly['next_at'])}; last job none yet"
        )
        assert err == f"schedule {nightly_line}\n"
        await clock.quiet(naps)
        # Added a second later, it is listed second.
        added_at = T0 + 1
        await clock.advance_to(added_at)
        naps = clock.naps
        code, out, err = await seeker_cli(
            api.url, "add", "hourly", "--every", "1h", "--job", job_file, "--allow-overlap",
            "--keep-runs", "5",
        )  # fmt: skip
        assert code == 0, err
        hourly = await api.schedule(out.strip())
        assert (hourly["every_s"], hourly["overlap"], hourly["keep_runs"]) == (3600, "allow", 5)
        await clock.quiet(naps)
        await clock.advance_to(added_at + HOUR_S)
        made = job_id(hourly, added_at + HOUR_S)
        hourly_line = (
            f"{hourly['schedule_id']} 'hourly': every 1h, overlap allowed; "
            f"next {moment(added_at + 2 * HOUR_S)}; last job {made}"
        )

        assert await seeker_cli(api.url, "list") == (
            0,
            f"schedules: 2\n  {nightly_line}\n  {hourly_line}\n",
            "",
        )
        assert await seeker_cli(api.url, "show", "hourly") == (
            0,
            f"{hourly_line}\n"
            f'  job: {{"image":"x:1","range":[0,10]}}\n'
            "  runs: 1 (the latest 5 are kept)\n"
            f"    {moment(added_at + HOUR_S)} created {made}\n",
            "",
        )
        code, out, _ = await seeker_cli(api.url, "pause", "nightly/eu")
        assert out == nightly_line.replace(f"next {moment(nightly['next_at'])}", "paused") + "\n"
        code, out, _ = await seeker_cli(api.url, "resume", nightly["schedule_id"])
        assert out == f"{nightly_line}\n"
        assert await seeker_cli(api.url, "remove", "hourly") == (
            0,
            f"schedule {hourly['schedule_id']} (hourly) removed; its jobs stay\n",
            "",
        )
        assert [s["name"] for s in (await api("GET", "/schedules"))[1]["schedules"]] == [
            "nightly/eu"
        ]


async def test_the_cli_says_what_is_wrong_in_one_line_and_adds_nothing(tmp_path: Path) -> None:
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(JOB))
    not_json = tmp_path / "bad.json"
    not_json.write_text("{image: x}")
    missing = tmp_path / "missing.json"
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        for argv, message in (
            (("add", "a", "--every", "30s", "--job", job_file), "every_s must be a whole number"),
            (("add", "a", "--cron", "0 25 * * *", "--job", job_file), "hour field: '25'"),
            (("add", "a", "--every", "1h", "--timezone", "UTC", "--job", job_file), "--timezone"),
            (("add", "a", "--every", "1h", "--job", missing), f"cannot read job file {missing}"),
            (("add", "a", "--every", "1h", "--job", not_json), f"job file {not_json} is not JSON"),
            (("show", "nope"), "no schedule 'nope'"),
            (("pause", "nope"), "no schedule 'nope'"),
        ):
            code, out, err = await seeker_cli(api.url, *argv)
            assert (code, out) == (1, ""), argv
            assert err.startswith("seeker: error: ") and message in err, err
            assert err.count("\n") == 1, err
        for argv, message in (
            (
                ("add", "a", "--every", "1h", "--cron", "* * * * *", "--job", job_file),
                "not allowed",
            ),
            (("add", "a", "--every", "soon", "--job", job_file), "is not a positive duration"),
            (("add", "a", "--every", "1h"), "the following arguments are required: --job"),
        ):
            code, _, err = await seeker_cli(api.url, *argv)
            assert code == 2 and message in err, err
        assert await api("GET", "/schedules") == (200, {"schedules": []})


async def test_a_schedule_of_a_catalog_scraper_checks_its_settings_and_runs_its_image(
    tmp_path: Path, catalog_image: str, docker_client: Any
) -> None:
    clock = ManualClock(T0)
    async with running(Seeker(config(tmp_path / "s"), clock=clock), clock) as api:
        status, _ = await api("POST", "/scrapers", {"image": catalog_image})
        assert status == 201
        job = {"scraper": "catalog", "keys": ["1"], "settings": {"timeout_s": 0}}
        status, error = await api(
            "POST", "/schedules", {"name": "c", "every_s": HOUR_S, "job": job}
        )
        assert (status, error["code"]) == (400, "invalid_schedule")
        assert "settings.timeout_s" in error["message"]
        assert (await api("GET", "/schedules"))[1] == {"schedules": []}
        job["settings"] = {"timeout_s": 5}
        schedule = await api.add(name="c", every_s=HOUR_S, job=job)
        assert schedule["job"]["scraper"] == "catalog"
        await clock.advance_to(T0 + HOUR_S)
        status, made = await api("GET", f"/jobs/{job_id(schedule, T0 + HOUR_S)}")
        image_id = docker_client.images.get(catalog_image).id
        assert (status, made["spec"]["images"]) == (200, {"amd64": f"seekgive/catalog@{image_id}"})
