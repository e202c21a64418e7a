"""Job submissions: what is accepted, how it is cut, and every refusal."""

import pytest

from channel.errors import WireError
from channel.wire.models import Limits
from seeker.errors import InvalidJob
from seeker.work.sources import FromDataset, FromJob, KeyFile, KeyList, Ranges
from seeker.work.spec import JobSpec, parse_job

pytestmark = pytest.mark.unit


def test_ranges_merge_so_overlapping_keys_count_once() -> None:
    spec = parse_job({"image": "x:1", "ranges": [[10, 20], [0, 5], [15, 30], [30, 31]]})
    assert spec.source == Ranges(((0, 5), (10, 31)))
    assert spec.source.total == 26


def test_range_blocks_are_cut_by_position() -> None:
    ranges = Ranges.merged([(1, 501)])
    first, last = ranges.block(0, 25), ranges.block(19, 25)
    assert (first.start, first.stop, last.start, last.stop) == (1, 26, 476, 501)


def test_a_block_across_two_ranges_lists_its_keys() -> None:
    ranges = Ranges.merged([(0, 3), (10, 12), (20, 30)])
    assert list(ranges.block(0, 4)) == ["0", "1", "2", "10"]
    assert list(ranges.block(1, 4)) == ["11", "20", "21", "22"]
    assert ranges.block(2, 4).start == 23 and ranges.block(3, 4).stop == 30


def test_key_sources() -> None:
    assert parse_job({"image": "x", "keys": ["b", "a", "b"]}).source == KeyList(("b", "a", "b"))
    assert parse_job({"image": "x"}, keys_file=True).source == KeyFile()
    from_job = {"job_id": "j1", "field": "url"}
    assert parse_job({"image": "x", "from_job": from_job}).source == FromJob("j1", "url")
    from_dataset = {"dataset": "bob.links-1", "field": "data.next"}
    spec = parse_job({"image": "x", "from_dataset": from_dataset})
    assert spec.source == FromDataset("bob.links-1", "data.next")
    assert JobSpec.from_wire(spec.to_wire()) == spec


def test_defaults_and_limits_overrides() -> None:
    spec = parse_job({"image": " x:1 ", "keys": ["a"], "limits": {"timeout_s": 5}})
    assert (spec.image, spec.network, spec.limits.timeout_s, spec.limits.pids) == (
        "x:1",
        "none",
        5.0,
        128,
    )
    assert spec.limits.output_bytes == 32 * 2**20
    spec = parse_job({"image": "x:1", "keys": ["a"], "limits": {"output_bytes": 2**20}})
    assert spec.limits == Limits(output_bytes=2**20)


def test_output_limit_is_optional_on_the_wire() -> None:
    older = {"memory_bytes": 2**30, "cpus": 2, "pids": 64, "timeout_s": 60}
    assert Limits.from_wire(older) == Limits(memory_bytes=2**30, cpus=2.0, pids=64, timeout_s=60)
    assert Limits.from_wire(Limits(output_bytes=4096).to_wire()).output_bytes == 4096
    with pytest.raises(WireError, match=r"limits.output_bytes must be an integer"):
        Limits.from_wire({**older, "output_bytes": "1G"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keys": ["a"]}, "image is required"),
        ({"image": "", "keys": ["a"]}, "image is required"),
        ({"image": "x"}, "no keys"),
        ({"image": "x", "keys": []}, "keys is empty"),
        ({"image": "x", "keys": [1]}, "list of strings"),
        ({"image": "x", "keys": ["a", ""]}, r"keys\[1\]: a key must not be empty"),
        ({"image": "x", "keys": ["k" * 2049]}, "is 2049 bytes, over 2048"),
        ({"image": "x", "range": [10, 1]}, r"range \[10, 1\) is empty or reversed"),
        ({"image": "x", "range": [3, 3]}, "empty or reversed"),
        ({"image": "x", "range": [1]}, "two integers"),
        ({"image": "x", "range": [1, 5], "keys": ["a"]}, "one key source, not keys and range"),
        ({"image": "x", "ranges": []}, "non-empty list"),
        ({"image": "x", "ranges": [[1, 5], [7, 6]]}, r"ranges\[1\] \[7, 6\) is empty"),
        ({"image": "x", "from_job": "j1"}, "from_job must be"),
        ({"image": "x", "from_job": {"job_id": "j1", "field": 3}}, "must be strings"),
        ({"image": "x", "from_dataset": "d"}, "from_dataset must be"),
        ({"image": "x", "from_dataset": {"dataset": "d"}}, "from_dataset must be"),
        ({"image": "x", "from_dataset": {"dataset": "d", "field": ""}}, "must be a field name"),
        (
            {"image": "x", "from_dataset": {"dataset": ".d", "field": "u"}},
            "from_dataset.dataset: dataset name '.d' is not allowed",
        ),
        (
            {"image": "x", "from_job": {"job_id": "j", "field": "u"}, "from_dataset": {}},
            "one key source, not from_job and from_dataset",
        ),
        ({"image": "x", "keys": ["a"], "colour": "red"}, r"unknown field\(s\): colour"),
        ({"image": "x", "keys": ["a"], "block_size": 0}, "block_size"),
        ({"image": "x", "keys": ["a"], "block_size": 10_001}, "from 1 to 10000"),
        ({"image": "x", "range": [0, 2**64]}, "within 64-bit integers"),
        ({"image": "x", "keys": ["a"], "block_size": True}, "block_size"),
        ({"image": "x", "keys": ["a"], "network": "wifi"}, "network must be one of"),
        ({"image": "x", "keys": ["a"], "settings": []}, "settings must be an object"),
        ({"image": "x", "keys": ["a"], "limits": {"ram": 1}}, r"unknown limit\(s\): ram"),
        ({"image": "x", "keys": ["a"], "limits": {"pids": -1}}, "positive"),
        ({"image": "x", "keys": ["a"], "limits": {"output_bytes": 0}}, "positive"),
        ({"image": "x", "keys": ["a"], "limits": {"output_bytes": 1.5}}, "must be an integer"),
        ([], "JSON object"),
        ({"image": "x", "keys": ["a"], "priority": 0}, "priority must be a whole number"),
        ({"image": "x", "keys": ["a"], "priority": 1001}, "from 1 to 1000"),
        ({"image": "x", "keys": ["a"], "max_attempts": 0}, "max_attempts"),
        ({"image": "x", "keys": ["a"], "retry_backoff_s": -1}, "retry_backoff_s"),
        ({"image": "x", "keys": ["a"], "requires": {"gpu": 1}}, r"unknown requirement\(s\): gpu"),
        ({"image": "x", "keys": ["a"], "requires": {"min_cpus": -1}}, "requires.min_cpus"),
        ({"image": "x", "keys": ["a"], "requires": {"arch": [3]}}, "requires.arch must be"),
        ({"image": "x", "keys": ["a"], "requires": {"labels": ["Bad Name"]}}, "requires.labels"),
        ({"image": "x", "keys": ["a"], "replicas": 11}, "replicas must be a whole number"),
        ({"image": "x", "keys": ["a"], "replicas": 2, "quorum": 3}, "quorum .* from 1 to 2"),
        ({"image": "x", "keys": ["a"], "choice": "loudest"}, "choice must be one of"),
        ({"image": "x", "keys": ["a"], "choice": "majority_ignoring"}, "ignore_fields goes"),
        ({"image": "x", "keys": ["a"], "ignore_fields": ["at"]}, "ignore_fields goes"),
        ({"image": "x", "keys": ["a"], "adaptive": True, "replicas": 1}, "at least 2"),
        ({"image": "x", "keys": ["a"], "adaptive": {"spot_check": 2}}, "spot_check"),
        ({"image": "x", "keys": ["a"], "adaptive": "yes"}, "adaptive must be"),
        ({"image": "x", "keys": ["a"], "recipient": 7}, "recipient: a recipient key must be"),
        ({"image": "x", "keys": ["a"], "recipient": "c2VjcmV0"}, "raw 32-byte X25519"),
        ({"image": "x", "keys": ["a"], "recipient": "A" * 43 + "_"}, "base64 .standard, padded"),
        ({"image": "x", "keys": ["a"], "recipient": "A" * 43 + "="}, "a low-order point"),
    ],
)
def test_bad_submissions_are_refused_with_a_clear_message(body: object, message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        parse_job(body)


def test_requirements_and_redundancy_have_sensible_defaults_and_survive_storage() -> None:
    plain = parse_job({"image": "x", "keys": ["a"]})
    assert (plain.redundancy.replicas, plain.redundancy.quorum) == (1, 1)
    assert parse_job({"image": "x", "keys": ["a"], "replicas": 3}).redundancy.quorum == 2
    adaptive = parse_job({"image": "x", "keys": ["a"], "adaptive": {"trust_after": 4}})
    assert (adaptive.redundancy.replicas, adaptive.redundancy.trust_after) == (2, 4)
    spec = parse_job(
        {
            "image": "x",
            "keys": ["a"],
            "requires": {"arch": "arm64", "labels": ["region=eu"], "min_memory_bytes": 2**30},
            "replicas": 3,
            "choice": "majority_ignoring",
            "ignore_fields": ["fetched_at"],
        }
    )
    assert spec.requirements.arch == ("arm64",) and spec.redundancy.ignore_fields == ("fetched_at",)
    stored = JobSpec.from_wire(spec.to_wire())
    assert (stored.requirements, stored.redundancy) == (spec.requirements, spec.redundancy)


def test_a_keys_file_excludes_other_key_sources() -> None:
    with pytest.raises(InvalidJob, match="not keys and a keys file"):
        parse_job({"image": "x", "keys": ["a"]}, keys_file=True)


def test_settings_too_deep_to_pass_on_are_refused() -> None:
    deep: dict = {}
    for _ in range(300):
        deep = {"d": deep}
    with pytest.raises(InvalidJob, match="settings cannot be passed on"):
        parse_job({"image": "x", "keys": ["a"], "settings": deep})


def test_a_job_offers_one_image_per_architecture_by_platform_names() -> None:
    spec = parse_job(
        {
            "images": {"x86_64": " scraper:amd ", "aarch64": "scraper:arm", "armv7l": "s:v7"},
            "keys": ["a"],
            "requires": {"arch": ["arm64", "x86_64"]},
        }
    )
    assert spec.image == ""
    assert spec.images == {"amd64": "scraper:amd", "arm64": "scraper:arm", "arm/v7": "s:v7"}
    assert spec.requirements.arch == ("arm64", "amd64")
    assert (spec.image_for("amd64"), spec.image_for("arm/v7"), spec.image_for("386")) == (
        "scraper:amd",
        "s:v7",
        None,
    )
    assert spec.image_names == "amd64=scraper:amd, arm/v7=s:v7, arm64=scraper:arm"
    stored = JobSpec.from_wire(spec.to_wire())
    assert (stored.image, stored.images) == (spec.image, spec.images)
    one = parse_job({"image": "x:1", "keys": ["a"]})
    assert (one.image_for("riscv64"), one.image_names) == ("x:1", "x:1")


def test_a_spec_stored_before_images_existed_still_loads() -> None:
    wire = parse_job({"image": "x:1", "range": [0, 5]}).to_wire()
    del wire["images"]
    assert JobSpec.from_wire(wire).image_for("arm64") == "x:1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keys": ["a"]}, r"image is required: .* \(or images: "),
        ({"image": "x", "images": {"amd64": "x"}, "keys": ["a"]}, "not both"),
        ({"images": {}, "keys": ["a"]}, "images must be an object of architectures"),
        ({"images": ["x"], "keys": ["a"]}, "images must be an object of architectures"),
        ({"images": {"sparc": "x"}, "keys": ["a"]}, r"images: 'sparc' is not an architecture"),
        ({"images": {"amd64": " "}, "keys": ["a"]}, "images.amd64 must be an image name"),
        (
            {"images": {"amd64": "a", "x86_64": "b"}, "keys": ["a"]},
            r"images names amd64 twice \('amd64' and 'x86_64'\)",
        ),
        (
            {"images": {"amd64": "a"}, "keys": ["a"], "requires": {"arch": "arm64"}},
            "requires.arch names arm64, for which images has no image",
        ),
        (
            {"image": "x", "keys": ["a"], "requires": {"arch": ["amd64", "vax"]}},
            r"requires.arch: 'vax' is not an architecture \(known: amd64, arm64, arm/v7",
        ),
    ],
)
def test_bad_images_are_refused_with_a_clear_message(body: object, message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        parse_job(body)
