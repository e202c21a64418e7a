"""The HTTP client Givers post results with."""

import io

import aiohttp

from channel.errors import ResultRejected, StoreUnavailable
from channel.jsonweb import read_error
from channel.store.ingest import result_lines
from channel.wire import canonical
from channel.wire.results import Ack, Result

# Above this size a post first asks whether the Channel takes it (Expect: 100-continue).
ASK_FIRST_BYTES = 1024 * 1024


class ChannelClient:
    """Posts results to a Channel service at `url` (e.g. http://seeker:8765/channel)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self._session = session

    def move_to(self, url: str) -> None:
        """Post to `url` from now on (a Seeker that dialled a Giver on the LAN named it)."""
        self.url = url.rstrip("/")

    async def post_result(self, result: Result) -> Ack:
        """Post `result`; raise ResultRejected (final) or StoreUnavailable (retry later)."""
        body = b"\n".join(result_lines(result)) + b"\n"
        try:
            async with self._session.post(
                f"{self.url}/v1/results",
                # A large body goes as a file, sent in pieces without blocking the loop;
                # a small one in the same write as the request's head.
                data=io.BytesIO(body) if len(body) > ASK_FIRST_BYTES else body,
                headers={"Content-Type": "application/x-ndjson"},
                expect100=len(body) > ASK_FIRST_BYTES,
            ) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise StoreUnavailable(
                f"cannot reach the Channel at {self.url}: {e}", url=self.url
            ) from e
        if status == 200:
            return Ack.from_wire(canonical.loads(body))
        _, message = read_error(body)
        if 400 <= status < 500 and status not in (408, 429):
            raise ResultRejected(result.result_id, status, message)
        raise StoreUnavailable(f"the Channel answered {status}: {message}", url=self.url)
