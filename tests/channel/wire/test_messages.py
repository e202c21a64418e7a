"""Session messages survive the wire, and malformed ones are refused clearly."""

import pytest

from channel.errors import WireError
from channel.wire import messages
from channel.wire.givers import Capabilities
from channel.wire.models import KeyBlock, Limits, Task

pytestmark = pytest.mark.unit

TASK = Task(
    task_id="j1-00000",
    job_id="j1",
    image="x:1",
    settings={"a": [1, 2]},
    block=KeyBlock(start=1, stop=26),
    network="host",
    limits=Limits(timeout_s=30),
)


@pytest.mark.parametrize(
    "message",
    [
        messages.Challenge("n0nce"),
        messages.Hello("g1", "c2ln"),
        messages.Assign(TASK),
        messages.Cancel("j1-00000"),
        messages.Accept("j1-00000"),
        messages.Refuse("j1-00000", "no free slot"),
        messages.Progress("j1-00000", 3, 25),
        messages.Done("j1-00000", "r1"),
        messages.Diagnose("n0nce"),
        messages.Diagnosis("n0nce", ok=True, latency_ms=1.25),
        messages.Diagnosis("n0nce", ok=False, error="docker: connection refused"),
        messages.Report(
            Capabilities(
                cpus=4,
                memory_bytes=2**33,
                arch="arm64",
                os="linux",
                docker_version="26.1",
                slots=3,
                images=("seekgive/catalog:1", "sha256:" + "ab" * 32),
                labels={"region": "eu", "residential": "true"},
            )
        ),
    ],
)
def test_every_message_round_trips(message: messages.Message) -> None:
    assert messages.decode(messages.encode(message)) == message


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"[]", "message must be an object"),
        (b'{"type": "teleport"}', "unknown message type 'teleport'"),
        (
            b'{"type": "progress", "task_id": "t", "done": "3", "total": 4}',
            "progress message.done must be an integer",
        ),
        (b'{"type": "done", "task_id": "t"}', "done message.result_id is missing"),
        (b'{"type": "diagnosis", "nonce": "n", "ok": 1}', "diagnosis message.ok must be a boolean"),
        (
            b'{"type": "diagnosis", "nonce": "n", "ok": true, "latency_ms": true}',
            "diagnosis message.latency_ms must be an integer or a number, not a boolean",
        ),
        (b'{"type": "assign", "task": {"task_id": "t"}}', r"assign message\.task\.\w+ is missing"),
        (b"{not json", "not valid JSON"),
        (
            b'{"type": "report", "capabilities": {"cpus": 1, "memory_bytes": 1, "arch": "amd64",'
            b' "os": "linux", "docker_version": "26", "slots": 1, "labels": {"Region": "eu"}}}',
            "label name 'Region' must be lowercase",
        ),
        (
            b'{"type": "report", "capabilities": {"cpus": 1, "memory_bytes": 1, "arch": "amd64",'
            b' "os": "linux", "docker_version": "26", "slots": 1, "images": [7]}}',
            r"report message\.capabilities\.images must be a list of strings",
        ),
    ],
)
def test_malformed_messages_name_what_is_wrong(data: bytes, error: str) -> None:
    with pytest.raises(WireError, match=error):
        messages.decode(data)


def test_fields_added_later_are_optional_on_the_wire() -> None:
    """A Challenge without the Seeker's key, or an unsigned Assign, still decodes
    (the Giver then refuses the unsigned task); unknown fields are ignored."""
    challenge = messages.Challenge("n")
    assert messages.decode(b'{"type": "challenge", "nonce": "n"}') == challenge
    assert messages.decode(b'{"type": "challenge", "nonce": "n", "later": 1}') == challenge
    signed = messages.Assign(TASK, "c2ln")
    assert messages.decode(messages.encode(signed)) == signed
    unsigned = messages.decode(messages.encode(messages.Assign(TASK)))
    assert isinstance(unsigned, messages.Assign) and unsigned.signature == ""
