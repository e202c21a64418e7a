"""Messages of the Seeker-Giver session (a WebSocket, either side may dial).

The session opens with a challenge the Giver signs, proving it holds the key
its id derives from. Then the Seeker assigns and cancels tasks; the Giver
accepts or refuses them, reports progress, releases or invalidates a task it
took, and says when a result is posted.
"""

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from channel import canonical
from channel.errors import WireError
from channel.models import Task, field_of


@dataclass(frozen=True, slots=True)
class Challenge:
    """Seeker → Giver: sign this nonce to open the session."""

    TYPE: ClassVar[str] = "challenge"
    nonce: str


@dataclass(frozen=True, slots=True)
class Hello:
    """Giver → Seeker: the signed challenge."""

    TYPE: ClassVar[str] = "hello"
    giver_id: str
    signature: str

    @staticmethod
    def signed_value(giver_id: str, nonce: str) -> dict[str, str]:
        """What the Giver signs to answer a challenge."""
        return {"session": giver_id, "nonce": nonce}


@dataclass(frozen=True, slots=True)
class Assign:
    """Seeker → Giver: run this task."""

    TYPE: ClassVar[str] = "assign"
    task: Task


@dataclass(frozen=True, slots=True)
class Cancel:
    """Seeker → Giver: stop this task; its result is no longer wanted."""

    TYPE: ClassVar[str] = "cancel"
    task_id: str


@dataclass(frozen=True, slots=True)
class Accept:
    """Giver → Seeker: the task is starting."""

    TYPE: ClassVar[str] = "accept"
    task_id: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """Giver → Seeker: the task will not run here, and why."""

    TYPE: ClassVar[str] = "refuse"
    task_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    """Giver → Seeker: this Giver no longer wants a task it was assigned (it is
    stopping, say); give it to another at once."""

    TYPE: ClassVar[str] = "release"
    task_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Invalidate:
    """Giver → Seeker: the scraper misbehaved on this task; discard whatever it
    reported and put its keys back."""

    TYPE: ClassVar[str] = "invalidate"
    task_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Giver → Seeker: keys handled so far; also a heartbeat for the lease."""

    TYPE: ClassVar[str] = "progress"
    task_id: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Done:
    """Giver → Seeker: the task's result is in the Channel under `result_id`."""

    TYPE: ClassVar[str] = "done"
    task_id: str
    result_id: str


Message = (
    Challenge | Hello | Assign | Cancel | Accept | Refuse | Release | Invalidate | Progress | Done
)
_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Challenge,
        Hello,
        Assign,
        Cancel,
        Accept,
        Refuse,
        Release,
        Invalidate,
        Progress,
        Done,
    )
}
_FIELD_KINDS: dict[str, type] = {
    "nonce": str,
    "giver_id": str,
    "signature": str,
    "task_id": str,
    "reason": str,
    "done": int,
    "total": int,
    "result_id": str,
}


def encode(message: Message) -> bytes:
    """The wire bytes of `message`."""
    body: dict[str, Any] = {"type": message.TYPE}
    for f in fields(message):
        value = getattr(message, f.name)
        body[f.name] = value.to_wire() if isinstance(value, Task) else value
    return canonical.dumps(body)


def decode(data: bytes | str) -> Message:
    """Parse wire bytes into a message, or raise WireError."""
    body = canonical.loads(data)
    kind = field_of(body, "type", str, "message")
    cls = _TYPES.get(kind)
    if cls is None:
        raise WireError(f"unknown message type {kind!r}")
    where = f"{kind} message"
    values = {
        f.name: Task.from_wire(field_of(body, f.name, dict, where), f"{where}.task")
        if f.name == "task"
        else field_of(body, f.name, _FIELD_KINDS[f.name], where)
        for f in fields(cls)
    }
    return cls(**values)
