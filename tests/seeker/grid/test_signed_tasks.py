"""Tasks signed by the Seeker: a real Giver, with a real session to a stand-in
Seeker on 127.0.0.1, runs only tasks signed for it with the key it trusts, and
stops when the Seeker names another key."""

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from channel.wire import canonical
from channel.wire.identity import Identity
from channel.wire.messages import Accept, Assign, Challenge, Hello, Message, Refuse, decode, encode
from channel.wire.models import KeyBlock, Limits, Task
from giver.daemon import Giver
from giver.errors import SeekerKeyChanged
from giver.terms.config import GiverConfig

WAIT_S = 30.0


@dataclass
class StandIn:
    """A Seeker that registers anyone, names `key` (or `challenge_key` in the
    session's challenge), sends what is put in `outgoing` and keeps what it hears."""

    key: Identity = field(default_factory=Identity.generate)
    challenge_key: str = ""
    url: str = ""
    outgoing: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    heard: list[Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def register(self, request: web.Request) -> web.Response:
        body = canonical.loads(await request.read())
        answer = {
            "giver_id": body["giver"]["giver_id"],
            "channel_url": "/channel",
            "seeker_key": self.key.public_key,
        }
        return web.json_response(answer)

    async def session(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_bytes(encode(Challenge("nonce", self.challenge_key or self.key.public_key)))
        if not isinstance(decode((await ws.receive()).data), Hello):
            return ws
        sender = asyncio.create_task(self._send(ws))
        try:
            async for frame in ws:
                if frame.type is WSMsgType.BINARY:
                    self.heard.append(decode(frame.data))
                    self.arrived.set()
        finally:
            sender.cancel()
        return ws

    async def _send(self, ws: web.WebSocketResponse) -> None:
        while True:
            await ws.send_bytes(encode(await self.outgoing.get()))

    async def answers(self, task_ids: list[str]) -> dict[str, Message]:
        """The Accept or Refuse the Giver sent for each of `task_ids`."""
        async with asyncio.timeout(WAIT_S):
            while True:
                found = {
                    m.task_id: m
                    for m in self.heard
                    if isinstance(m, Accept | Refuse) and m.task_id in task_ids
                }
                if len(found) == len(task_ids):
                    return found
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    stand_in = StandIn()
    app = web.Application()
    app.router.add_post("/api/v1/givers", stand_in.register)
    app.router.add_get("/api/v1/givers/{giver_id}/session", stand_in.session)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stand_in.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield stand_in
    await runner.cleanup()


def giver_config(stand_in: StandIn, data_dir: Path, **settings: object) -> GiverConfig:
    return GiverConfig(
        seeker_url=stand_in.url, data_dir=data_dir, slots=4, reconnect_max_s=0.2, **settings
    )


def task(image: str) -> Task:
    return Task(
        task_id=f"t{uuid.uuid4().hex[:8]}",
        job_id="j1",
        image=image,
        settings={"mode": "sleep"},
        block=KeyBlock(keys=("a",)),
        limits=Limits(memory_bytes=64 * 2**20, cpus=0.5, pids=32, timeout_s=60),
    )


async def test_only_tasks_signed_for_this_giver_with_the_trusted_key_run(
    stand_in: StandIn, tmp_path: Path, faulty_image: str
) -> None:
    async with Giver(giver_config(stand_in, tmp_path / "giver")) as giver:
        assert (tmp_path / "giver" / "seeker-key.pub").read_text().strip() == (
            stand_in.key.public_key
        )
        good, unsigned, altered, foreign, elsewhere = (task(faulty_image) for _ in range(5))
        sign = stand_in.key.sign_value
        altered_signature = sign(Assign.signed_value(giver.id, altered))
        sent = [
            Assign(unsigned),
            Assign(dataclasses.replace(altered, settings={"mode": "exit"}), altered_signature),
            Assign(foreign, Identity.generate().sign_value(Assign.signed_value(giver.id, foreign))),
            Assign(elsewhere, sign(Assign.signed_value("gsomeoneelse", elsewhere))),
            Assign(good, sign(Assign.signed_value(giver.id, good))),
        ]
        for message in sent:
            stand_in.outgoing.put_nowait(message)
        answers = await stand_in.answers([m.task.task_id for m in sent])
    assert isinstance(answers[good.task_id], Accept)
    refused = {t.task_id: answers[t.task_id] for t in (unsigned, altered, foreign, elsewhere)}
    assert all(isinstance(answer, Refuse) for answer in refused.values())
    assert refused[unsigned.task_id].reason == "the task carries no signature of the Seeker"
    for bad in (altered, foreign, elsewhere):
        reason = refused[bad.task_id].reason  # type: ignore[union-attr]
        assert "signature does not verify with the Seeker key" in reason
        assert stand_in.key.public_key in reason


async def test_a_seeker_with_another_key_than_pinned_or_configured_stops_the_giver(
    stand_in: StandIn, tmp_path: Path
) -> None:
    pinned_file = tmp_path / "pins" / "seeker-key.pub"
    first_key = Identity.generate().public_key
    pinned_file.parent.mkdir()
    pinned_file.write_text(first_key + "\n")
    with pytest.raises(SeekerKeyChanged, match=f"delete {pinned_file}") as caught:
        async with Giver(giver_config(stand_in, tmp_path / "pins")):
            pass
    assert (caught.value.pinned, caught.value.offered) == (first_key, stand_in.key.public_key)
    assert pinned_file.read_text().strip() == first_key

    configured = giver_config(stand_in, tmp_path / "configured", seeker_key=first_key)
    with pytest.raises(SeekerKeyChanged, match="--seeker-key"):
        async with Giver(configured):
            pass


async def test_a_session_naming_another_key_stops_the_giver(
    stand_in: StandIn, tmp_path: Path
) -> None:
    stand_in.challenge_key = Identity.generate().public_key
    async with Giver(giver_config(stand_in, tmp_path / "giver")) as giver:
        with pytest.raises(SeekerKeyChanged, match="posing as the Seeker"):
            async with asyncio.timeout(WAIT_S):
                await giver.serve()
