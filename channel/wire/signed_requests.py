"""HTTP requests a Giver signs with its identity, as the Seeker's image archives need.

A signed request carries three headers: the Giver's id, when it was signed
(Unix seconds), and the Giver's signature over the canonical JSON of the
method, the path (relative to the Seeker's API root, `/api/v1`), that time
and the id. The Seeker verifies it with the key it admitted that Giver with
and refuses a signature too far from its own clock, so a request cannot be
made in a Giver's name, nor kept and replayed long after.
"""

import re
from dataclasses import dataclass
from typing import Any

from channel.errors import WireError
from channel.wire.identity import Identity, verify_value

GIVER_HEADER = "Seekgive-Giver"
SIGNED_AT_HEADER = "Seekgive-Signed-At"
SIGNATURE_HEADER = "Seekgive-Signature"
API_ROOT = "/api/v1"
ARCHIVE_PATH = "/images/{digest}/archive"
_SIGNED_AT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
MAX_SIGNATURE_CHARS = 200


def archive_path(digest: str) -> str:
    """The path (under the API root) of the archive of the image with id `digest`."""
    return ARCHIVE_PATH.format(digest=digest)


def signed_value(giver_id: str, method: str, path: str, signed_at: float) -> dict[str, Any]:
    """What a Giver signs to make a request."""
    return {"giver": giver_id, "method": method.upper(), "path": path, "signed_at": signed_at}


def request_headers(identity: Identity, method: str, path: str, now: float) -> dict[str, str]:
    """The headers that sign a request of `method` on `path` by `identity`, now."""
    signed_at = round(now, 3)
    return {
        GIVER_HEADER: identity.id,
        SIGNED_AT_HEADER: f"{signed_at:.3f}",
        SIGNATURE_HEADER: identity.sign_value(signed_value(identity.id, method, path, signed_at)),
    }


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The signature a request's headers carry, not yet verified."""

    giver_id: str
    signed_at: float
    signature: str

    @classmethod
    def from_headers(cls, headers: Any) -> "SignedRequest":
        """The signature in `headers` (a mapping), or WireError naming what is missing
        or malformed."""
        values = {h: str(headers.get(h, "")).strip() for h in (GIVER_HEADER, SIGNED_AT_HEADER)}
        signature = str(headers.get(SIGNATURE_HEADER, "")).strip()
        missing = [h for h, v in {**values, SIGNATURE_HEADER: signature}.items() if not v]
        if missing:
            raise WireError(f"the request is not signed (no {', '.join(missing)} header)")
        if not _SIGNED_AT.fullmatch(values[SIGNED_AT_HEADER]):
            raise WireError(f"{SIGNED_AT_HEADER} must be Unix seconds")
        if len(signature) > MAX_SIGNATURE_CHARS:
            raise WireError(f"{SIGNATURE_HEADER} is too long to be a signature")
        return cls(values[GIVER_HEADER], float(values[SIGNED_AT_HEADER]), signature)

    def verifies(self, public_key: str, method: str, path: str) -> bool:
        """Whether the signature is `public_key`'s over this request."""
        value = signed_value(self.giver_id, method, path, self.signed_at)
        return verify_value(public_key, value, self.signature)
