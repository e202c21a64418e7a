"""Sealed results: records sealed to a job's recipient and opened with its key,
their wire forms, recipient key files, the agreement copies are compared by,
and a sealed job run end to end by real Givers into both Channel stores."""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import sqlite3
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import demo_site
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from support import egress
from support.api import Grid, catalog_job, runs_by_block, submit_and_wait
from support.base import BIN, run

from channel.errors import InvalidResult, RecipientKeyError, SealedRecordError, WireError
from channel.wire import canonical, sealing
from channel.wire.comparison import comparison_parts
from channel.wire.identity import Identity
from channel.wire.models import KeyBlock, Task
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import records_digest, verify_signature
from giver.sandbox.outputs import ScraperOutput
from giver.tasks.execution import signed
from seeker.work.choice import comparison_digest

DATA = {"name": "Zürich umbrella ☂", "price": 12.5, "tags": ["rain", None]}


@pytest.fixture
def recipient() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def test_a_sealed_record_opens_to_its_data_with_the_recipients_key(
    recipient: X25519PrivateKey,
) -> None:
    public = sealing.public_text(recipient)
    record = sealing.seal_record(public, "j1", "k1", DATA)
    assert set(record) == {"key", "sealed"} and record["key"] == "k1"
    assert canonical.dumps(DATA) not in base64.b64decode(record["sealed"])
    assert sealing.open_record(recipient, "j1", record) == {"key": "k1", "data": DATA}
    # A fresh encapsulated key each time: equal data does not seal to equal bytes.
    assert sealing.seal_record(public, "j1", "k1", DATA) != record


def _altered(sealed: str) -> str:
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("job_id", "change", "key"),
    [
        ("j2", {}, "k1"),  # moved to another job
        ("j1", {"key": "k2"}, "k2"),  # moved to another key
        ("j1", {"altered": True}, "k1"),
        ("j1", {"other_recipient": True}, "k1"),
    ],
)
def test_a_record_opens_only_as_what_it_was_sealed_as_by_its_recipient(
    recipient: X25519PrivateKey, job_id: str, change: dict[str, Any], key: str
) -> None:
    record = sealing.seal_record(sealing.public_text(recipient), "j1", "k1", DATA)
    opener = X25519PrivateKey.generate() if change.get("other_recipient") else recipient
    if change.get("altered"):
        record["sealed"] = _altered(record["sealed"])
    record["key"] = change.get("key", record["key"])
    with pytest.raises(SealedRecordError) as caught:
        sealing.open_record(opener, job_id, record)
    assert str(caught.value) == (
        f"record {key!r} of job {job_id} does not open with this key: it was sealed to "
        "another recipient, altered, or moved from another key or job"
    )
    assert (caught.value.job_id, caught.value.key) == (job_id, key)


def test_a_record_that_is_not_sealed_or_opens_to_no_object_is_named(
    recipient: X25519PrivateKey,
) -> None:
    with pytest.raises(SealedRecordError, match="record 'k1' of job j1 is not sealed"):
        sealing.open_record(recipient, "j1", {"key": "k1", "sealed": "not base64!"})
    listed = sealing.SUITE.encrypt(
        b"[1, 2]", recipient.public_key(), info=sealing.record_info("j1", "k1")
    )
    record = {"key": "k1", "sealed": base64.b64encode(listed).decode()}
    with pytest.raises(SealedRecordError, match=r"record 'k1' of job j1 opens to .* not an object"):
        sealing.open_record(recipient, "j1", record)


def test_a_recipient_key_file_is_private_loads_back_and_is_never_overwritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "recipient.pem"
    public = sealing.create_recipient(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert sealing.public_text(sealing.load_private_key(path)) == public
    sealing.check_recipient(public)
    with pytest.raises(RecipientKeyError, match=f"{path} exists already"):
        sealing.create_recipient(path)
    assert sealing.public_text(sealing.load_private_key(path)) == public


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (None, 0o600, "cannot read key file .*: No such file or directory"),
        ("dir", 0o700, "cannot read key file .*: Is a directory"),
        (b"hello", 0o600, "is not an unencrypted PEM private key"),
        ("ed25519", 0o600, r"does not hold an X25519 private key \(`seeker recipient new`"),
        ("x25519", 0o640, r"is readable by others \(mode 640\); run: chmod 600 "),
    ],
)
def test_a_bad_recipient_key_file_is_one_clear_error(
    tmp_path: Path, content: bytes | str | None, mode: int, message: str
) -> None:
    path = tmp_path / "key.pem"
    if content == "dir":
        path.mkdir()
    elif content == "x25519":
        sealing.create_recipient(path)
    elif content is not None:
        path.write_bytes(Identity.generate().to_pem() if content == "ed25519" else content)
    if content is not None:
        path.chmod(mode)
    with pytest.raises(RecipientKeyError, match=message) as caught:
        sealing.load_private_key(path)
    assert caught.value.path == path and "\n" not in str(caught.value)


def _result(records: list[dict[str, Any]], **fields: Any) -> Result:
    outcomes = [KeyOutcome(r["key"], True) for r in records]
    return Result("r1", "j1.0.a", "j1", "g1", records, outcomes, None, 0.0, 1.0, **fields)


def test_a_result_takes_each_record_as_data_or_sealed_and_signs_its_agreement() -> None:
    records = [{"key": "a", "data": {"p": 1}}, {"key": "b", "sealed": "AAAA"}]
    result = _result(records, agreement="ab" * 32)
    assert result.header()["agreement"] == "ab" * 32
    assert Result.from_wire(canonical.loads(canonical.dumps(result.to_wire()))) == result
    plain = _result(records[:1])
    assert "agreement" not in plain.to_wire()
    assert Result.from_wire(plain.to_wire()).agreement == ""
    with pytest.raises(WireError, match=r"result\.agreement must be a string"):
        Result.from_wire({**plain.to_wire(), "agreement": 7})


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"key": "b"}, r"result\.records\[1\] \(key 'b'\) must have exactly one of data"),
        ({"key": "b", "data": {}, "sealed": "AAAA"}, r"\(key 'b'\) must have exactly one of"),
        ({"key": "b", "sealed": {"x": 1}}, r"records\[1\] \(key 'b'\)\.sealed must be a string"),
        ({"key": "b", "data": "AAAA"}, r"records\[1\] \(key 'b'\)\.data must be an object"),
        ({"sealed": "AAAA"}, r"result\.records\[1\]\.key is missing"),
    ],
)
def test_a_record_neither_or_both_data_and_sealed_is_refused_naming_it(
    record: dict[str, Any], message: str
) -> None:
    wire = _result([{"key": "a", "data": {}}]).to_wire()
    wire["records"].append(record)
    with pytest.raises(WireError, match=message):
        Result.from_wire(wire)


def test_a_plain_task_keeps_its_wire_and_a_sealed_one_carries_its_keys(
    recipient: X25519PrivateKey,
) -> None:
    plain = Task("j1.0.a", "j1", "x:1", {}, KeyBlock(keys=("a",)))
    assert sorted(plain.to_wire()) == [
        "block",
        "contract",
        "image",
        "job_id",
        "limits",
        "network",
        "settings",
        "task_id",
    ]
    sealed = replace(
        plain,
        seal_to=sealing.public_text(recipient),
        agreement_key=sealing.new_agreement_key(),
        ignore_fields=("at",),
    )
    assert Task.from_wire(canonical.loads(canonical.dumps(sealed.to_wire()))) == sealed
    wire = sealed.to_wire()
    for bad, message in (
        ({"agreement_key": ""}, "task.seal_to and task.agreement_key go together"),
        ({"seal_to": "c2VjcmV0"}, "task.seal_to must be 32 bytes in base64"),
        ({"agreement_key": 32}, "task.agreement_key must be 32 bytes in base64"),
        ({"ignore_fields": [""]}, "task.ignore_fields must be a list of field names"),
    ):
        with pytest.raises(WireError, match=message):
            Task.from_wire({**wire, **bad})


def test_copies_agree_by_an_agreement_keyed_over_what_the_seeker_would_hash() -> None:
    key = sealing.new_agreement_key()
    outcomes = [KeyOutcome("a", True), KeyOutcome("b", True)]
    records = [{"key": "a", "data": {"p": 1, "at": 1}}, {"key": "b", "data": {"p": 2, "at": 1}}]
    later = [{**r, "data": {**r["data"], "at": 2}} for r in records]
    agreed = sealing.agreement(key, records, outcomes)
    assert sealing.agreement(key, records[::-1], outcomes[::-1]) == agreed
    assert sealing.agreement(key, later, outcomes) != agreed
    assert sealing.agreement(key, later, outcomes, ["at"]) == sealing.agreement(
        key, records, outcomes, ["at"]
    )
    failed = [outcomes[0], KeyOutcome("b", False, "gone")]
    assert sealing.agreement(key, records, failed) != agreed
    assert sealing.agreement(sealing.new_agreement_key(), records, outcomes) != agreed
    # The Seeker's digest of plain copies and the agreement key the same bytes.
    material = b"".join(comparison_parts(records, outcomes))
    assert hashlib.sha256(material).hexdigest() == comparison_digest(_result(records))
    mac = hmac.new(base64.b64decode(key), material, hashlib.sha256)
    assert mac.hexdigest() == agreed


def test_a_giver_seals_a_sealed_tasks_records_and_signs_them_with_the_agreement(
    recipient: X25519PrivateKey,
) -> None:
    identity = Identity.generate()
    key = sealing.new_agreement_key()
    task = Task(
        "j1.0.a",
        "j1",
        "x:1",
        {},
        KeyBlock(keys=("a", "b")),
        seal_to=sealing.public_text(recipient),
        agreement_key=key,
    )
    output = ScraperOutput(
        records=[{"key": "a", "data": DATA}],
        outcomes=[KeyOutcome("a", True), KeyOutcome("b", False, "gone")],
    )
    result = signed(identity, task, output, 0.0)
    verify(result, identity.public_key)
    assert [set(r) for r in result.records] == [{"key", "sealed"}]
    assert [sealing.open_record(recipient, "j1", r) for r in result.records] == output.records
    assert result.agreement == sealing.agreement(key, output.records, output.outcomes)
    # HPKE's base mode names no sender: the Giver's signature covers what it sealed.
    forged = sealing.seal_record(task.seal_to, "j1", "a", {"price": 0})
    for tampered in (replace(result, agreement="0" * 64), replace(result, records=[forged])):
        with pytest.raises(InvalidResult):
            verify(tampered, identity.public_key)
    plain = signed(identity, replace(task, seal_to="", agreement_key=""), output, 0.0)
    assert (plain.records, plain.agreement) == (output.records, "")


def verify(result: Result, public_key: str) -> None:
    """What the Channel checks of a result: its signed header, its records' digest."""
    verify_signature(result, public_key)
    if records_digest(result.records) != result.digest:
        raise InvalidResult("records do not match their digest")


def _markers(first: int, stop: int) -> list[bytes]:
    """What the demo shop's products first <= n < stop hold that no ciphertext,
    base64 or key does."""
    products = [demo_site.product(n) for n in range(first, stop)]
    return [p["sku"].encode() for p in products] + [p["name"].encode() for p in products]


def _found_in_store(db_path: Path, markers: list[bytes]) -> set[bytes]:
    """The markers the Channel's SQLite file holds in any result's stored records,
    decompressed, or in its raw bytes."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        stored = [inline for (inline,) in db.execute("SELECT inline FROM results") if inline]
        chunked: dict[str, bytes] = {}
        for result_id, data in db.execute(
            "SELECT result_id, data FROM result_chunks ORDER BY result_id, n"
        ):
            chunked[result_id] = chunked.get(result_id, b"") + data
    records = b"".join(zlib.decompress(blob) for blob in [*stored, *chunked.values()])
    raw = db_path.read_bytes()
    return {m for m in markers if m in records or m in raw}


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_a_sealed_job_runs_end_to_end_and_only_its_recipient_reads_it(
    request: pytest.FixtureRequest,
    grid: Grid,
    store: str,
    catalog_image: str,
    demo_site_url: str,
    tmp_path: Path,
) -> None:
    seeker = await grid(
        store_url=request.getfixturevalue("mongo_url") if store == "mongodb" else "",
        allow_local=(egress.site(demo_site_url),),
    )
    key_file = tmp_path / "recipient.pem"
    public = sealing.create_recipient(key_file)
    job = await submit_and_wait(
        seeker, catalog_job(catalog_image, demo_site_url, replicas=2, recipient=public)
    )
    job_id = job["job_id"]
    assert job["keys"] == {"total": 20, "done": 20, "failed": 0, "leased": 0, "pending": 0}
    assert job["spec"]["recipient"] == public and b"agreement_key" not in canonical.dumps(job)

    # Both copies of each block agreed, by the agreement their Givers computed.
    by_block = await runs_by_block(seeker, job_id)
    assert len(by_block) == 4
    assert seeker.coordinator is not None
    task_ids = [run.task_id for copies in by_block.values() for run in copies]
    stored = await seeker.coordinator.keys.channel.results_for_tasks(task_ids)
    agreements = {result.task_id: result.agreement for result in stored}
    for copies in by_block.values():
        assert sorted(r.role.value for r in copies) == ["agreed", "chosen"]
        assert copies[0].digest == copies[1].digest == agreements[copies[0].task_id] != ""

    # What the Channel's store returns, and its raw file, hold no plaintext.
    markers = _markers(1, 21)
    assert len(stored) == 8
    for result in stored:
        assert all(set(r) == {"key", "sealed"} for r in result.records)
        body = canonical.dumps(result.to_wire())
        assert [m for m in markers if m in body] == []
    if store == "sqlite":
        # The Channel's SQLite file, its records decompressed. A plain job of other
        # products shows the records would hold them.
        plain = catalog_job(catalog_image, demo_site_url, range=[21, 41])
        assert (await submit_and_wait(seeker, plain))["keys"]["done"] == 20
        db_path = tmp_path / "seeker" / "channel.sqlite3"
        found = await asyncio.to_thread(_found_in_store, db_path, markers + _markers(21, 41))
        assert found == set(_markers(21, 41))

    # Exported without the key: sealed as stored, and one warning line says so.
    sealed_out, opened_out = tmp_path / "sealed.jsonl", tmp_path / "opened.jsonl"
    code, out, err = await run(
        BIN / "seeker", "export", "--seeker", seeker.url, job_id, "-o", sealed_out
    )
    assert (code, out) == (0, f"20 records written to {sealed_out}\n"), err
    assert err == (
        "seeker: warning: 20 record(s) are sealed and were written as they are; "
        "open them with --key FILE (the recipient's private key)\n"
    )
    assert all(
        set(json.loads(line)) == {"key", "sealed"} for line in sealed_out.read_text().splitlines()
    )
    # Opened here with the key: the plain records.
    code, out, err = await run(
        BIN / "seeker", "export", "--seeker", seeker.url, job_id, "--key", key_file,
        "-o", opened_out,
    )  # fmt: skip
    assert (code, out, err) == (0, f"20 records written to {opened_out}\n", "")
    records = [json.loads(line) for line in opened_out.read_text().splitlines()]
    assert sorted(int(r["key"]) for r in records) == list(range(1, 21))
    for record in records:
        expected = demo_site.product(int(record["key"]))
        assert {k: record["data"][k] for k in expected} == expected
    # Another recipient's key opens nothing, and nothing is written.
    other = tmp_path / "other.pem"
    sealing.create_recipient(other)
    code, out, err = await run(
        BIN / "seeker", "export", "--seeker", seeker.url, job_id, "--key", other,
        "-o", tmp_path / "none.jsonl",
    )  # fmt: skip
    assert code == 1 and err.startswith("seeker: error: record '") and len(err.splitlines()) == 1
    assert "does not open with this key" in err and not (tmp_path / "none.jsonl").exists()
