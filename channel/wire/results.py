"""What a Giver returns for a task: the outcome of each key, the records (plain,
sealed, or with a debug capture), signed as a whole (`Result`); and what the
Channel answers when it has stored one (`Ack`).

Each model converts to a plain dict (`to_wire`) and back (`from_wire`),
checking shapes so that bad input fails with a message naming the field.
"""

from dataclasses import dataclass
from typing import Any

from channel.errors import WireError
from channel.wire.models import field_of

# A failed task's log as a Result carries it, at most (UTF-8 bytes, cut marker
# included): the start of the log and, three times as much, its end, where a
# traceback is. Docker keeps 1 MiB of a task's log at most (giver.sandbox.docker_runner);
# the log travels in the signed header (MAX_HEADER_BYTES) and in every page
# listing the job's results, so a page of 1000 failed results stays near 128 MiB.
MAX_LOG_BYTES = 128 * 1024
LOG_HEAD_BYTES = 32 * 1024
LOG_MARKER_ROOM = 100


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """Whether one key of a task was scraped, and why not if it was not."""

    key: str
    ok: bool
    reason: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"key": self.key, "ok": self.ok, "reason": self.reason}

    @classmethod
    def from_wire(cls, data: Any, where: str = "outcome") -> "KeyOutcome":
        return cls(
            key=field_of(data, "key", str, where),
            ok=field_of(data, "ok", bool, where),
            reason=field_of(data, "reason", (str, type(None)), where),
        )


@dataclass(frozen=True, slots=True)
class Result:
    """What a Giver returns for a task, signed with its identity.

    `records` are `{"key": str, "data": object}` dicts, or for a sealed task
    `{"key": str, "sealed": str}` (the data sealed to the job's recipient). A
    plain record may carry the raw page it was parsed from as `capture`
    (`{"media_type": str, "text": str}`) when its job keeps debug captures.
    `discovered` are new keys the scraper found, for a job that takes them.
    `error` is set when the task failed as a whole (the container crashed,
    timed out, wrote garbage). `digest` is the SHA-256 of the canonical records
    and `signature` signs the result's header (everything but the records,
    digest included). A sealed task's `agreement` is the keyed hash copies of
    it are compared by; on the wire only when set. A result with a failed key
    carries its container's `log` (stdout and stderr as Docker kept them, cut
    to MAX_LOG_BYTES, see `cut_log`) and the `image_id` of the image that ran,
    for its scraper's author to replay the key; both on the wire only when set.
    """

    result_id: str
    task_id: str
    job_id: str
    giver_id: str
    records: list[dict[str, Any]]
    outcomes: list[KeyOutcome]
    error: str | None
    started_at: float
    finished_at: float
    digest: str = ""
    signature: str = ""
    agreement: str = ""
    discovered: tuple[str, ...] = ()
    log: str = ""
    image_id: str = ""

    def header(self) -> dict[str, Any]:
        """Every field but the records and the signature: what gets signed."""
        header: dict[str, Any] = {
            "result_id": self.result_id,
            "task_id": self.task_id,
            "job_id": self.job_id,
            "giver_id": self.giver_id,
            "outcomes": [o.to_wire() for o in self.outcomes],
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "digest": self.digest,
        }
        if self.agreement:
            header["agreement"] = self.agreement
        if self.discovered:
            header["discovered"] = list(self.discovered)
        if self.log:
            header["log"] = self.log
        if self.image_id:
            header["image_id"] = self.image_id
        return header

    def to_wire(self) -> dict[str, Any]:
        return {**self.header(), "records": self.records, "signature": self.signature}

    @classmethod
    def from_wire(cls, data: Any, where: str = "result") -> "Result":
        records = field_of(data, "records", list, where)
        for i, record in enumerate(records):
            if not is_plain_record(record):
                check_record(record, f"{where}.records[{i}]")
        outcomes = field_of(data, "outcomes", list, where)
        agreement = data.get("agreement", "")
        if not isinstance(agreement, str):
            raise WireError(f"{where}.agreement must be a string")
        discovered = data.get("discovered", [])
        if not isinstance(discovered, list) or not all(isinstance(k, str) for k in discovered):
            raise WireError(f"{where}.discovered must be a list of strings")
        log, image_id = data.get("log", ""), data.get("image_id", "")
        if not isinstance(log, str) or len(log.encode(errors="surrogatepass")) > MAX_LOG_BYTES:
            raise WireError(f"{where}.log must be a string of at most {MAX_LOG_BYTES} bytes")
        if not isinstance(image_id, str):
            raise WireError(f"{where}.image_id must be a string")
        return cls(
            result_id=field_of(data, "result_id", str, where),
            task_id=field_of(data, "task_id", str, where),
            job_id=field_of(data, "job_id", str, where),
            giver_id=field_of(data, "giver_id", str, where),
            records=records,
            outcomes=[
                KeyOutcome(o["key"], o["ok"], o["reason"])
                if _plain_outcome(o)
                else KeyOutcome.from_wire(o, f"{where}.outcomes[{i}]")
                for i, o in enumerate(outcomes)
            ],
            error=field_of(data, "error", (str, type(None)), where),
            started_at=float(field_of(data, "started_at", (int, float), where)),
            finished_at=float(field_of(data, "finished_at", (int, float), where)),
            digest=field_of(data, "digest", str, where),
            signature=field_of(data, "signature", str, where),
            agreement=agreement,
            discovered=tuple(discovered),
            log=log,
            image_id=image_id,
        )

    @classmethod
    def from_stored(cls, header: dict[str, Any], records: list[dict[str, Any]]) -> "Result":
        """A result as the Channel stored it: its header line, as `to_wire` gives it
        without the records, and its records, all checked by `from_wire` when it
        came in, so not checked again."""
        return cls(
            **{
                **header,
                "outcomes": [KeyOutcome(**o) for o in header["outcomes"]],
                "discovered": tuple(header.get("discovered", ())),
                "records": records,
            }
        )


def cut_log(log: bytes) -> str:
    """A container's log as a Result carries it: whole if it fits MAX_LOG_BYTES,
    else its first LOG_HEAD_BYTES and its end, with a line saying how many bytes
    were cut between them. Bytes that are not UTF-8 become U+FFFD first."""
    data = log.decode(errors="replace").encode()
    if len(data) <= MAX_LOG_BYTES:
        return data.decode()
    tail_bytes = MAX_LOG_BYTES - LOG_HEAD_BYTES - LOG_MARKER_ROOM
    cut = len(data) - LOG_HEAD_BYTES - tail_bytes
    # A character split by either cut is dropped.
    head = data[:LOG_HEAD_BYTES].decode(errors="ignore")
    tail = data[-tail_bytes:].decode(errors="ignore")
    return f"{head}\n[... {cut} bytes of the log cut here ...]\n{tail}"


def is_plain_record(record: Any) -> bool:
    """Whether `record` is `{"key": str, "data": object}`, the common case, which
    `check_record` would pass: checked without building the name of its place."""
    return (
        type(record) is dict
        and len(record) == 2
        and type(record.get("key")) is str
        and type(record.get("data")) is dict
    )


def _plain_outcome(outcome: Any) -> bool:
    """Whether `outcome` is one `KeyOutcome.from_wire` would take, checked as
    `is_plain_record` is."""
    return (
        type(outcome) is dict
        and type(outcome.get("key")) is str
        and type(outcome.get("ok")) is bool
        and "reason" in outcome
        and (outcome["reason"] is None or type(outcome["reason"]) is str)
    )


def check_record(record: Any, where: str) -> None:
    """A record has a key and exactly one of `data` (an object) or `sealed` (a string)."""
    key = field_of(record, "key", str, where)
    if ("data" in record) == ("sealed" in record):
        raise WireError(
            f"{where} (key {key!r}) must have exactly one of data (an object) or sealed (a string)"
        )
    if "data" in record:
        field_of(record, "data", dict, f"{where} (key {key!r})")
    else:
        field_of(record, "sealed", str, f"{where} (key {key!r})")
    if "capture" in record:
        check_capture(record, f"{where} (key {key!r})")


def check_capture(record: Any, where: str) -> None:
    """A plain record's capture is `{"media_type": str, "text": str}`."""
    if "sealed" in record:
        raise WireError(f"{where}: a sealed record carries no capture")
    capture = field_of(record, "capture", dict, where)
    if set(capture) != {"media_type", "text"}:
        raise WireError(f'{where}.capture must be {{"media_type": ..., "text": ...}}')
    field_of(capture, "media_type", str, f"{where}.capture")
    field_of(capture, "text", str, f"{where}.capture")


@dataclass(frozen=True, slots=True)
class Ack:
    """The Channel's receipt for a stored result; the same for a retried post."""

    result_id: str
    received_at: float

    def to_wire(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "received_at": self.received_at}

    @classmethod
    def from_wire(cls, data: Any, where: str = "ack") -> "Ack":
        return cls(
            result_id=field_of(data, "result_id", str, where),
            received_at=float(field_of(data, "received_at", (int, float), where)),
        )
