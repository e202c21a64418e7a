"""Messages of the Seeker-Giver session (a WebSocket, either side may dial).

The session opens with a challenge the Giver signs, proving it holds the key
its id derives from; the challenge names the Seeker's public key. When the
Seeker dialled (it found the Giver on the LAN), the Giver first introduces
itself with the signed registration it would otherwise post over HTTP, and
the Seeker answers with where results go. Then the Seeker assigns tasks, each
signed with its key for one Giver, and cancels them; the Giver accepts or
refuses them, reports progress, releases or invalidates a task it took, and
says when a result is posted. At an operator's request the Seeker asks a Giver
how its Docker Engine is doing (Diagnose); the Giver answers with a Diagnosis
carrying the same nonce. A peer that does not know a message type drops it,
so a Giver older than Diagnose simply never answers.

Fields added later have defaults: a message without them still decodes, and
a peer ignores fields it does not know.
"""

from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from channel.errors import WireError
from channel.wire import canonical
from channel.wire.givers import Capabilities
from channel.wire.models import Task, field_of


@dataclass(frozen=True, slots=True)
class Challenge:
    """Seeker → Giver: sign this nonce to open the session; `seeker_key` is the
    public key the Seeker signs its tasks with."""

    TYPE: ClassVar[str] = "challenge"
    nonce: str
    seeker_key: str = ""


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
class Register:
    """Giver → Seeker, before its Hello in a session the Seeker dialled: the Giver's
    signed self-description, exactly the body of a registration over HTTP."""

    TYPE: ClassVar[str] = "register"
    giver: dict[str, Any]
    signature: str

    def body(self) -> dict[str, Any]:
        """The registration body this message carries."""
        return {"giver": self.giver, "signature": self.signature}


@dataclass(frozen=True, slots=True)
class Registered:
    """Seeker → Giver, answering a Register once the Hello verified: the id the
    Seeker knows the Giver by, the absolute URL of the Channel results go to, and
    the Seeker's own absolute URL (where the Giver fetches images it lacks)."""

    TYPE: ClassVar[str] = "registered"
    giver_id: str
    channel_url: str
    seeker_url: str = ""


@dataclass(frozen=True, slots=True)
class Assign:
    """Seeker → Giver: run this task; `signature` is the Seeker's over
    `signed_value(giver_id, task)`, so the task is for this Giver alone and
    unaltered."""

    TYPE: ClassVar[str] = "assign"
    task: Task
    signature: str = ""

    @staticmethod
    def signed_value(giver_id: str, task: Task) -> dict[str, Any]:
        """What the Seeker signs to assign `task` to `giver_id`: the task as the
        Giver decodes it, so both sign the same bytes (a limit given as 60 is
        60.0 once decoded)."""
        return {"giver": giver_id, "task": Task.from_wire(task.to_wire()).to_wire()}


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
    """Giver → Seeker: the task will not run here, and why. `policy`: the Giver's
    settings forbid it (its image policy, say), so it would refuse the job's other
    tasks too until they change."""

    TYPE: ClassVar[str] = "refuse"
    task_id: str
    reason: str
    policy: bool = False


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
class Report:
    """Giver → Seeker: what this Giver offers now (it changed since registering:
    an image was pulled, the volunteer changed its slots or labels)."""

    TYPE: ClassVar[str] = "report"
    capabilities: Capabilities


@dataclass(frozen=True, slots=True)
class Done:
    """Giver → Seeker: the task's result is in the Channel under `result_id`."""

    TYPE: ClassVar[str] = "done"
    task_id: str
    result_id: str


@dataclass(frozen=True, slots=True)
class Diagnose:
    """Seeker → Giver: check your Docker Engine now and answer with a Diagnosis
    carrying `nonce`."""

    TYPE: ClassVar[str] = "diagnose"
    nonce: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Giver → Seeker, answering the Diagnose with `nonce`: whether its Docker Engine
    answered, in how many milliseconds, or else why not (one line)."""

    TYPE: ClassVar[str] = "diagnosis"
    nonce: str
    ok: bool
    latency_ms: float = 0.0
    error: str = ""


Message = (
    Challenge
    | Hello
    | Register
    | Registered
    | Assign
    | Cancel
    | Accept
    | Refuse
    | Release
    | Invalidate
    | Progress
    | Report
    | Done
    | Diagnose
    | Diagnosis
)
_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Challenge,
        Hello,
        Register,
        Registered,
        Assign,
        Cancel,
        Accept,
        Refuse,
        Release,
        Invalidate,
        Progress,
        Report,
        Done,
        Diagnose,
        Diagnosis,
    )
}
_FIELD_KINDS: dict[str, type | tuple[type, ...]] = {
    "nonce": str,
    "seeker_key": str,
    "giver_id": str,
    "signature": str,
    "task_id": str,
    "reason": str,
    "done": int,
    "total": int,
    "result_id": str,
    "giver": dict,
    "channel_url": str,
    "seeker_url": str,
    "ok": bool,
    "policy": bool,
    "latency_ms": (int, float),
    "error": str,
}


def encode(message: Message) -> bytes:
    """The wire bytes of `message`."""
    body: dict[str, Any] = {"type": message.TYPE}
    for f in fields(message):
        value = getattr(message, f.name)
        body[f.name] = value.to_wire() if isinstance(value, Task | Capabilities) else value
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
        f.name: _field(body, f.name, where)
        for f in fields(cls)
        if f.default is MISSING or f.name in body
    }
    return cls(**values)


def _field(body: Any, name: str, where: str) -> Any:
    if name == "task":
        return Task.from_wire(field_of(body, name, dict, where), f"{where}.task")
    if name == "capabilities":
        return Capabilities.from_wire(field_of(body, name, dict, where), f"{where}.capabilities")
    return field_of(body, name, _FIELD_KINDS[name], where)
