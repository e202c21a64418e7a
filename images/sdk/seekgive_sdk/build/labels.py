"""Asking a built image for its labels: its scraper run once with the argument ``labels``.

The run is sandboxed as a Giver runs a task (no network, read-only root, no
capabilities, user nobody), so an image that describes itself here also runs
under a Giver.
"""

import json
import subprocess
import uuid

from seekgive_sdk.schema import CONTRACT_LABEL, RESOURCES_LABEL, SCHEMA_LABEL, TITLE_LABEL

from .docker import docker, tail
from .errors import BuildError

REQUIRED_LABELS = (SCHEMA_LABEL, CONTRACT_LABEL, RESOURCES_LABEL, TITLE_LABEL)
SANDBOX = (
    "--network", "none", "--read-only", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges", "--user", "65534:65534",
)  # fmt: skip
# Said after every way a scraper can fail to describe itself.
FIX = "its entrypoint must be a seekgive_sdk scraper that prints its labels when given `labels`"


def read_labels(image: str, timeout_s: float) -> dict[str, str]:
    """The labels the scraper in ``image`` prints for itself, checked; BuildError if unusable."""
    container = f"seekgive-sdk-labels-{uuid.uuid4().hex[:12]}"
    try:
        result = docker(
            "run", "--rm", "--name", container, *SANDBOX, image, "labels", timeout_s=timeout_s
        )
    except subprocess.TimeoutExpired as e:
        docker("rm", "--force", container)
        raise BuildError(f"`labels` took more than {timeout_s:g} s; {FIX} and exit") from e
    if result.returncode != 0:
        raise BuildError(
            f"`labels` exited with code {result.returncode} (its output is above); {FIX}",
            tail(result.stdout + result.stderr),
        )
    return check_labels(result.stdout)


def check_labels(printed: str) -> dict[str, str]:
    """The labels in what ``labels`` printed; BuildError naming what is wrong with them."""
    try:
        labels = json.loads(printed)
    except json.JSONDecodeError as e:
        raise BuildError(f"`labels` printed no JSON ({e}); {FIX}", tail(printed)) from e
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise BuildError(f"`labels` printed no JSON object of strings; {FIX}", tail(printed))
    missing = [label for label in REQUIRED_LABELS if label not in labels]
    if missing:
        raise BuildError(f"`labels` printed no {missing[0]!r} label; {FIX}")
    if not labels[CONTRACT_LABEL].isdigit():
        raise BuildError(f"`labels` printed a bad contract {labels[CONTRACT_LABEL]!r}; {FIX}")
    try:
        schema = json.loads(labels[SCHEMA_LABEL])
    except json.JSONDecodeError as e:
        raise BuildError(f"the {SCHEMA_LABEL} label is not JSON ({e}); {FIX}") from e
    if not isinstance(schema, dict):
        raise BuildError(f"the {SCHEMA_LABEL} label is not a JSON object; {FIX}")
    return labels
