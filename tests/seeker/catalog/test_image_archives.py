"""Checking image archives before loading them (pure logic over tar files): both
layouts `docker save` writes are accepted when they hold the image named, and
every kind of tampering or oddity is refused, naming what is wrong."""

import gzip
import hashlib
import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from channel.wire import canonical
from giver.errors import BadArchive
from giver.sandbox.archives import verify_archive

pytestmark = pytest.mark.unit

Member = tuple[tarfile.TarInfo, bytes]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(*files: tuple[str, bytes]) -> bytes:
    """An uncompressed layer tar holding `files`."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


LAYERS = [layer(("etc/a", b"first")), layer(("opt/b", b"second" * 1000))]


def config(layers: list[bytes], **extra: Any) -> bytes:
    diff_ids = [sha256(data) for data in layers]
    return canonical.dumps(
        {"architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": diff_ids}, **extra}
    )


def regular(name: str, data: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, b""


def directory(name: str) -> Member:
    return special(name, tarfile.DIRTYPE)


def legacy(layers: list[bytes], image_config: bytes, **manifest: Any) -> list[Member]:
    """The members `docker save` writes in its legacy layout (Docker before 25)."""
    hex_id = sha256(image_config)[7:]
    members = [regular(f"{hex_id}.json", image_config)]
    paths = []
    for n, data in enumerate(layers):
        directory_name = f"{n:064x}"
        members += [
            directory(directory_name),
            regular(f"{directory_name}/VERSION", b"1.0"),
            regular(f"{directory_name}/json", b"{}"),
            regular(f"{directory_name}/layer.tar", data),
        ]
        paths.append(f"{directory_name}/layer.tar")
    entry = {"Config": f"{hex_id}.json", "RepoTags": None, "Layers": paths, **manifest}
    return [*members, regular("manifest.json", canonical.dumps([entry]))]


def oci(layers: list[bytes], image_config: bytes, **index_entry: Any) -> list[Member]:
    """The members `docker save` writes in the OCI layout (Docker 25 and later)."""
    blobs = {sha256(data)[7:]: data for data in [image_config, *layers]}
    members = [directory("blobs"), directory("blobs/sha256")]
    members += [regular(f"blobs/sha256/{hex_digest}", data) for hex_digest, data in blobs.items()]
    entry = {
        "Config": f"blobs/sha256/{sha256(image_config)[7:]}",
        "RepoTags": None,
        "Layers": [f"blobs/sha256/{sha256(data)[7:]}" for data in layers],
    }
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **index_entry}],
    }
    return [
        *members,
        regular("index.json", canonical.dumps(index)),
        regular("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
        regular("manifest.json", canonical.dumps([entry])),
    ]


def write(path: Path, members: list[Member]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


IMAGE_CONFIG = config(LAYERS)
DIGEST = sha256(IMAGE_CONFIG)


def test_the_legacy_layout_holding_the_image_is_accepted(tmp_path: Path) -> None:
    archive = write(tmp_path / "a.tar", legacy(LAYERS, IMAGE_CONFIG))
    assert verify_archive(archive, DIGEST).layers == 2


def test_the_oci_layout_holding_the_image_is_accepted(tmp_path: Path) -> None:
    archive = write(tmp_path / "a.tar", oci(LAYERS, IMAGE_CONFIG))
    assert verify_archive(archive, DIGEST).layers == 2


def test_a_layer_repeated_as_a_symlink_to_its_first_copy_is_accepted(tmp_path: Path) -> None:
    layers = [LAYERS[0], LAYERS[1], LAYERS[0]]
    image_config = config(layers)
    members = legacy(layers, image_config)
    repeated = f"{2:064x}/layer.tar"
    members = [
        special(repeated, tarfile.SYMTYPE, f"../{0:064x}/layer.tar") if m[0].name == repeated else m
        for m in members
    ]
    assert verify_archive(write(tmp_path / "a.tar", members), sha256(image_config)).layers == 3


def replaced(members: list[Member], name: str, data: bytes) -> list[Member]:
    return [regular(name, data) if info.name == name else (info, d) for info, d in members]


def tampered_layer() -> list[Member]:
    changed = bytearray(LAYERS[1])
    changed[len(changed) // 2] ^= 1
    return replaced(legacy(LAYERS, IMAGE_CONFIG), f"{1:064x}/layer.tar", bytes(changed))


def tampered_config() -> list[Member]:
    other = config(LAYERS, author="someone else")
    return replaced(legacy(LAYERS, IMAGE_CONFIG), f"{DIGEST[7:]}.json", other)


def manifest_with(**changes: Any) -> list[Member]:
    members = legacy(LAYERS, IMAGE_CONFIG)
    entry = {
        "Config": f"{DIGEST[7:]}.json",
        "RepoTags": None,
        "Layers": [f"{n:064x}/layer.tar" for n in range(2)],
        **changes,
    }
    return replaced(members, "manifest.json", canonical.dumps([entry]))


def layer_as_link(kind: bytes, target: str) -> list[Member]:
    name = f"{1:064x}/layer.tar"
    members = legacy(LAYERS, IMAGE_CONFIG)
    return [special(name, kind, target) if m[0].name == name else m for m in members]


def with_member(member: Member) -> list[Member]:
    return [*legacy(LAYERS, IMAGE_CONFIG), member]


BAD: dict[str, tuple[Callable[[], list[Member]], str]] = {
    "a layer byte changed": (tampered_layer, f"layer 2 ({1:064x}/layer.tar) has sha256:"),
    "another config": (tampered_config, f"not the image id {DIGEST}"),
    "tags": (lambda: manifest_with(RepoTags=["victim:latest"]), "names tags"),
    "foreign layers": (lambda: manifest_with(LayerSources={"x": {}}), "foreign layer sources"),
    "unknown manifest keys": (lambda: manifest_with(Extra=1), "unknown keys"),
    "a missing layer": (
        lambda: manifest_with(Layers=["nowhere/layer.tar", f"{1:064x}/layer.tar"]),
        "layer 1 'nowhere/layer.tar' is not a file in it",
    ),
    "a layer too few": (
        lambda: manifest_with(Layers=[f"{0:064x}/layer.tar"]),
        "1 layer(s), the config 2",
    ),
    "two images": (
        lambda: replaced(
            legacy(LAYERS, IMAGE_CONFIG),
            "manifest.json",
            canonical.dumps([{"Config": "a", "Layers": []}, {"Config": "b", "Layers": []}]),
        ),
        "exactly one image",
    ),
    "a manifest that is not JSON": (
        lambda: replaced(legacy(LAYERS, IMAGE_CONFIG), "manifest.json", b"[{"),
        "manifest.json is not JSON",
    ),
    "a repositories file": (
        lambda: with_member(regular("repositories", b'{"victim":{"latest":"x"}}')),
        "repositories file",
    ),
    "an index naming the image": (
        lambda: oci(LAYERS, IMAGE_CONFIG, annotations={"io.containerd.image.name": "victim:1"}),
        "index.json names the image",
    ),
    "a layer linking out": (
        lambda: layer_as_link(tarfile.SYMTYPE, "../../../etc/passwd"),
        "links out of the archive",
    ),
    "a layer hard-linked": (
        lambda: layer_as_link(tarfile.LNKTYPE, f"{0:064x}/layer.tar"),
        "neither a file, a directory nor a symlink",
    ),
    "a stray symlink": (
        lambda: with_member(special("extra", tarfile.SYMTYPE, "manifest.json")),
        "member extra is a symlink that stands for no layer",
    ),
    "a device": (lambda: with_member(special("dev", tarfile.CHRTYPE)), "neither a file"),
    "an absolute path": (
        lambda: with_member(regular("/etc/cron.d/x", b"")),
        "not a plain relative path",
    ),
    "a path climbing out": (lambda: with_member(regular("../x", b"")), "not a plain relative path"),
    "a path not in plain form": (
        lambda: with_member(regular("a/./b", b"")),
        "not a plain relative path",
    ),
    "a member twice": (
        lambda: with_member(regular("manifest.json", b"[]")),
        "member manifest.json is there twice",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_archive_is_refused_saying_why(tmp_path: Path, case: str) -> None:
    members, message = BAD[case]
    archive = write(tmp_path / "a.tar", members())
    with pytest.raises(BadArchive, match=re.escape(message)):
        verify_archive(archive, DIGEST)


def test_a_compressed_or_truncated_archive_is_refused(tmp_path: Path) -> None:
    whole = write(tmp_path / "a.tar", legacy(LAYERS, IMAGE_CONFIG)).read_bytes()
    compressed = tmp_path / "c.tar"
    compressed.write_bytes(gzip.compress(whole))
    truncated = tmp_path / "t.tar"
    truncated.write_bytes(whole[: len(whole) // 2])
    for archive in (compressed, truncated):
        with pytest.raises(BadArchive):
            verify_archive(archive, DIGEST)
