"""Checking an image archive against the image id a task names, before the Docker
Engine sees it. Pure logic over a file; nothing here trusts the Engine.

An image's id is the SHA-256 of its config, and the config lists the SHA-256
of each layer's uncompressed tar (`rootfs.diff_ids`), so an archive whose
config hashes to the id and whose layers hash to the config's diff_ids holds
exactly that image. `manifest.json` says which members are the config and
the layers, in both layouts `docker save` writes: the legacy one
(`<id>.json`, `<layer>/layer.tar`, a layer repeated as a symlink to its first
copy) and the OCI one of Docker 25 and later (`blobs/sha256/<hex>`, with
`index.json` and `oci-layout`). Only the members the manifest names are read.

Refused: anything but regular files, directories, and symlinks standing for a
layer named by the manifest that point at another regular member; a path that
is absolute, climbs out (`..`) or is not in its plain form; a name given
twice; more than one image; and anything that would tag the image when loaded
(`RepoTags`, a `repositories` file, image names in `index.json`), so loading
never moves one of the volunteer's tags.
"""

import hashlib
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from channel.errors import WireError
from channel.wire import canonical
from giver.errors import BadArchive

MANIFEST = "manifest.json"
INDEX = "index.json"
NAMES_FILE = "repositories"
MAX_MEMBERS = 100_000
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024
HASH_CHUNK_BYTES = 1024 * 1024
MANIFEST_KEYS = {"Config", "RepoTags", "Layers", "LayerSources"}
NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")
REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE)


@dataclass(frozen=True, slots=True)
class VerifiedArchive:
    """An archive found to hold image `digest` and nothing that would tag it."""

    digest: str
    layers: int


def verify_archive(path: Path, digest: str) -> VerifiedArchive:
    """Check that the archive at `path` holds exactly image `digest` (sha256:HEX);
    BadArchive saying what is wrong otherwise."""
    try:
        with tarfile.open(path, "r:") as tar:
            return _verify(tar, digest)
    except (tarfile.TarError, EOFError) as e:
        raise BadArchive(f"not a tar archive: {e}") from e
    except OSError as e:
        raise BadArchive(f"cannot be read: {e}") from e


def _verify(tar: tarfile.TarFile, digest: str) -> VerifiedArchive:
    members = _members(tar)
    if NAMES_FILE in members:
        raise BadArchive(
            f"it has a {NAMES_FILE} file, which would tag the image", member=NAMES_FILE
        )
    if INDEX in members:
        _check_index(_json(tar, members, INDEX, MAX_MANIFEST_BYTES))
    config_path, layer_paths = _manifest(_json(tar, members, MANIFEST, MAX_MANIFEST_BYTES))
    for name, member in members.items():
        if member.issym() and name not in layer_paths:
            raise BadArchive(f"member {name} is a symlink that stands for no layer", member=name)
    config_member = _regular(members, config_path, "the config")
    found = _sha256(tar, config_member)
    if found != digest:
        raise BadArchive(
            f"its config {config_path} has {found}, not the image id {digest}", member=config_path
        )
    diff_ids = _diff_ids(tar, config_member, config_path)
    if len(diff_ids) != len(layer_paths):
        raise BadArchive(
            f"the manifest names {len(layer_paths)} layer(s), the config {len(diff_ids)}",
            member=MANIFEST,
        )
    for n, (layer_path, diff_id) in enumerate(zip(layer_paths, diff_ids, strict=True), 1):
        found = _sha256(tar, _layer(members, layer_path, n))
        if found != diff_id:
            raise BadArchive(
                f"layer {n} ({layer_path}) has {found}, not the {diff_id} its config names",
                member=layer_path,
            )
    return VerifiedArchive(digest, len(layer_paths))


def _members(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """Every member by name, after checking its kind and path."""
    members: dict[str, tarfile.TarInfo] = {}
    for member in tar:
        name = member.name.rstrip("/") if member.isdir() else member.name
        plain = posixpath.normpath(name)
        if not name or name != plain or plain.startswith(("/", "../")) or plain == "..":
            raise BadArchive(f"member {member.name!r} is not a plain relative path", member=name)
        if not (member.type in REGULAR or member.isdir() or member.issym()):
            raise BadArchive(
                f"member {name} is neither a file, a directory nor a symlink", member=name
            )
        if name in members:
            raise BadArchive(f"member {name} is there twice", member=name)
        members[name] = member
        if len(members) > MAX_MEMBERS:
            raise BadArchive(f"it has more than {MAX_MEMBERS} members")
    return members


def _manifest(manifest: Any) -> tuple[str, list[str]]:
    """The config's and the layers' paths of the one image `manifest.json` lists."""
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise BadArchive(f"{MANIFEST} must list exactly one image", member=MANIFEST)
    (image,) = manifest
    unknown = set(image) - MANIFEST_KEYS
    if unknown:
        raise BadArchive(f"{MANIFEST} has unknown keys {sorted(unknown)}", member=MANIFEST)
    if image.get("RepoTags"):
        raise BadArchive(f"{MANIFEST} names tags {image['RepoTags']}", member=MANIFEST)
    if image.get("LayerSources"):
        raise BadArchive(f"{MANIFEST} names foreign layer sources", member=MANIFEST)
    config, layers = image.get("Config"), image.get("Layers")
    if not isinstance(config, str) or not isinstance(layers, list):
        raise BadArchive(f"{MANIFEST} must give Config and Layers", member=MANIFEST)
    if not all(isinstance(layer, str) for layer in layers):
        raise BadArchive(f"{MANIFEST}: Layers must be paths", member=MANIFEST)
    return config, layers


def _check_index(index: Any) -> None:
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise BadArchive(f"{INDEX} lists no manifests", member=INDEX)
    for entry in manifests:
        annotations = entry.get("annotations") if isinstance(entry, dict) else None
        named = [a for a in NAME_ANNOTATIONS if isinstance(annotations, dict) and a in annotations]
        if named:
            raise BadArchive(f"{INDEX} names the image ({', '.join(named)})", member=INDEX)


def _diff_ids(tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> list[str]:
    config = _parse(_read(tar, member, MAX_CONFIG_BYTES), path)
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if (
        not isinstance(rootfs, dict)
        or rootfs.get("type") != "layers"
        or not isinstance(diff_ids, list)
        or not all(isinstance(d, str) for d in diff_ids)
    ):
        raise BadArchive(f"its config {path} has no rootfs of layers", member=path)
    return diff_ids


def _regular(members: dict[str, tarfile.TarInfo], path: str, what: str) -> tarfile.TarInfo:
    member = members.get(path)
    if member is None or member.type not in REGULAR:
        raise BadArchive(f"{what} {path!r} is not a file in it", member=path)
    return member


def _layer(members: dict[str, tarfile.TarInfo], path: str, n: int) -> tarfile.TarInfo:
    """Layer `n` at `path`: a file, or a symlink to one (a layer `docker save` repeats)."""
    member = members.get(path)
    if member is not None and member.issym():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
        if target.startswith(("/", "../")) or target == "..":
            raise BadArchive(f"layer {n} ({path}) links out of the archive", member=path)
        return _regular(members, target, f"layer {n}, linked from {path},")
    return _regular(members, path, f"layer {n}")


def _json(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], path: str, limit: int) -> Any:
    return _parse(_read(tar, _regular(members, path, "the file"), limit), path)


def _parse(data: bytes, path: str) -> Any:
    try:
        return canonical.loads(data)
    except WireError as e:
        raise BadArchive(f"{path} is not JSON: {e}", member=path) from e


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise BadArchive(f"{member.name} is larger than {limit} bytes", member=member.name)
    return _open(tar, member).read()


def _sha256(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    f = _open(tar, member)
    while chunk := f.read(HASH_CHUNK_BYTES):
        digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def _open(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    f = tar.extractfile(member)
    assert f is not None, "a regular member always has a file"
    return f
