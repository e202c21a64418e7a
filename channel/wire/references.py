"""Docker image references and scraper image labels, as Seekers and Givers read them."""

import re

# The labels `seekgive-sdk build` writes from a scraper's declaration (images/CONTRACT.md).
SCHEMA_LABEL = "seekgive.settings-schema"
CONTRACT_LABEL = "seekgive.contract"
RESOURCES_LABEL = "seekgive.resources"
TITLE_LABEL = "org.opencontainers.image.title"
DESCRIPTION_LABEL = "org.opencontainers.image.description"
# An image id or a repository digest.
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def repository_of(reference: str) -> str:
    """`seekgive/catalog` of `seekgive/catalog:1` or `seekgive/catalog@sha256:…`."""
    name = reference.partition("@")[0]
    path_start = name.rfind("/") + 1
    tag = name.find(":", path_start)
    return name if tag < 0 else name[:tag]
