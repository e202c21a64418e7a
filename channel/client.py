"""The HTTP client Givers post results with."""

import aiohttp

from channel import canonical
from channel.errors import ChannelError, StoreUnavailable, WireError
from channel.models import Ack, Result


class ResultRejected(ChannelError):
    """The Channel refused a result for good; posting it again will not help."""

    def __init__(self, result_id: str, status: int, message: str) -> None:
        super().__init__(f"result {result_id} rejected ({status}): {message}")
        self.result_id = result_id
        self.status = status


class ChannelClient:
    """Posts results to a Channel service at `url` (e.g. http://seeker:8765/channel)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self._session = session

    async def post_result(self, result: Result) -> Ack:
        """Post `result`; raise ResultRejected (final) or StoreUnavailable (retry later)."""
        try:
            async with self._session.post(
                f"{self.url}/v1/results", data=canonical.dumps(result.to_wire()),
                headers={"Content-Type": "application/json"},
            ) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise StoreUnavailable(f"cannot reach the Channel at {self.url}: {e}",
                                   url=self.url) from e
        if status == 200:
            return Ack.from_wire(canonical.loads(body))
        try:
            message = str(canonical.loads(body).get("message", ""))
        except (WireError, AttributeError):
            message = body[:200].decode(errors="replace")
        if 400 <= status < 500 and status not in (408, 429):
            raise ResultRejected(result.result_id, status, message)
        raise StoreUnavailable(f"the Channel answered {status}: {message}", url=self.url)
