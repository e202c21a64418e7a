"""A job's records as they stream from the Seeker, sealed ones opened here.

The Seeker serves a sealed job's records as the Channel stores them, sealed
to the job's recipient; `seeker export --key FILE` opens them on the
operator's machine, so the private key never leaves it. Without the key a
sealed record is passed on as it is, and counted.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from channel.wire import canonical
from channel.wire.sealing import open_record
from seeker.errors import SeekerError


@dataclass(slots=True)
class Opener:
    """Opens the sealed records of job `job_id` in a stream of JSON lines."""

    job_id: str
    private_key: X25519PrivateKey | None
    sealed_left: int = 0  # sealed records passed on as they are, for want of the key
    _pending: bytes = b""

    def feed(self, chunk: bytes) -> bytes:
        """The lines `chunk` completes, each sealed record opened if the key is here."""
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return b"".join(self._line(line) + b"\n" for line in lines)

    def finish(self) -> None:
        """Raise SeekerError if the stream ended inside a line."""
        if self._pending:
            raise SeekerError(f"the records of job {self.job_id} end inside a line")

    def _line(self, line: bytes) -> bytes:
        record = canonical.loads(line)
        if not isinstance(record, dict) or "sealed" not in record:
            return line
        if self.private_key is None:
            self.sealed_left += 1
            return line
        return canonical.dumps(open_record(self.private_key, self.job_id, record))


async def opened(chunks: AsyncIterator[bytes], opener: Opener) -> AsyncIterator[bytes]:
    """`chunks` of a job's records through `opener` (off the event loop: opening
    takes a while)."""
    async for chunk in chunks:
        yield await asyncio.to_thread(opener.feed, chunk)
    opener.finish()
