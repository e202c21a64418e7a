"""``seekgive-sdk build``: a scraper image from a directory holding a Dockerfile.

The image is built, run once sandboxed and without network with the argument
``labels`` so that the scraper describes itself (settings schema, contract,
resources, name), and built again from docker's cache with those labels, then
tagged. Everything goes through the ``docker`` command line, so nothing but
the standard library and a Docker Engine is needed.

May import: seekgive_sdk.schema, seekgive_sdk.version.
"""

from .errors import BuildError
from .image import Built, build

__all__ = ["BuildError", "Built", "build"]
