"""Building, labelling and tagging a scraper image, or nothing at all when a step fails."""

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from seekgive_sdk.schema import CONTRACT_LABEL, SCHEMA_LABEL, TITLE_LABEL

from .docker import docker, tail
from .errors import BuildError
from .labels import read_labels

DEFAULT_LABELS_TIMEOUT_S = 120.0
# Where --wheels puts its wheels in the build context, for the Dockerfile to COPY.
WHEELS_IN_CONTEXT = "wheels"


@dataclass(frozen=True)
class Built:
    """A built, labelled and tagged scraper image."""

    tag: str
    image_id: str
    name: str
    settings: int


def build(
    directory: Path,
    *,
    tag: str | None = None,
    build_args: Mapping[str, str] | None = None,
    wheels: Path | None = None,
    name: str | None = None,
    labels_timeout_s: float = DEFAULT_LABELS_TIMEOUT_S,
) -> Built:
    """Build the Dockerfile in ``directory``, label the image with what its scraper says, tag it.

    ``tag`` defaults to ``seekgive/NAME:CONTRACT`` from the labels;
    ``build_args`` are docker's ``--build-arg``s; ``wheels`` is a directory of
    wheels copied into the build context as ``wheels/``; ``name``, if given, is
    the name the scraper must have. Raise BuildError when anything fails,
    leaving no tag, container or temporary directory behind.
    """
    what = "give the directory of the scraper's Dockerfile"
    if not directory.is_dir():
        raise BuildError(f"no directory {directory}; {what}")
    if not (directory / "Dockerfile").is_file():
        raise BuildError(f"no Dockerfile in {directory}; {what}")
    args = dict(build_args or {})
    with _build_context(directory, wheels) as context:
        temporary_tag = f"seekgive-sdk-build:{uuid.uuid4().hex[:12]}"
        _docker_build(context, temporary_tag, args, {})
        try:
            labels = read_labels(temporary_tag, labels_timeout_s)
            title = labels[TITLE_LABEL]
            if name is not None and title != name:
                raise BuildError(f"the scraper is named {title!r}, not {name!r} like its directory")
            final_tag = tag or f"seekgive/{title}:{labels[CONTRACT_LABEL]}"
            image_id = _docker_build(context, final_tag, args, labels)
        finally:
            docker("image", "rm", temporary_tag)
    schema = json.loads(labels[SCHEMA_LABEL])
    return Built(
        tag=final_tag, image_id=image_id, name=title, settings=len(schema.get("properties", {}))
    )


@contextmanager
def _build_context(directory: Path, wheels: Path | None) -> Iterator[Path]:
    """``directory`` itself, or with ``wheels``, a temporary copy of it holding them in wheels/."""
    if wheels is None:
        yield directory
        return
    if not wheels.is_dir() or not any(wheels.glob("*.whl")):
        raise BuildError(f"--wheels {wheels} is no directory of wheels (*.whl)")
    if (directory / WHEELS_IN_CONTEXT).exists():
        raise BuildError(
            f"{directory / WHEELS_IN_CONTEXT} exists, and --wheels would replace it; rename it"
        )
    with tempfile.TemporaryDirectory(prefix="seekgive-sdk-build-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(directory, context, symlinks=True)
        shutil.copytree(wheels, context / WHEELS_IN_CONTEXT)
        yield context


def _docker_build(context: Path, tag: str, args: dict[str, str], labels: dict[str, str]) -> str:
    """Build ``context``'s Dockerfile as ``tag`` with build ``args``, ``labels``; return its id."""
    options = [
        *(option for key, value in args.items() for option in ("--build-arg", f"{key}={value}")),
        *(option for key, value in labels.items() for option in ("--label", f"{key}={value}")),
    ]
    with tempfile.TemporaryDirectory(prefix="seekgive-sdk-build-") as tmp:
        id_file = Path(tmp) / "image-id"
        result = docker(
            "build", "--force-rm", "--iidfile", str(id_file), "-t", tag,
            *options, str(context),
        )  # fmt: skip
        if result.returncode != 0:
            raise BuildError(
                "docker build failed (its output is above); fix the Dockerfile or its context",
                tail(result.stdout + result.stderr),
            )
        return id_file.read_text(encoding="ascii").strip()
