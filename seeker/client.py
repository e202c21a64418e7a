"""A small client of the Seeker's JSON API, used by the CLI and the demo."""

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from channel import canonical
from channel.errors import WireError
from channel.jsonweb import read_error
from seeker.errors import ApiError, SeekerError

EXPORT_CHUNK_BYTES = 64 * 1024


class SeekerClient:
    """Talks to the Seeker at `url`; every failure is an ApiError or SeekerError."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> "SeekerClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else canonical.dumps(body)
        try:
            async with self._session.request(
                method,
                f"{self.url}/api/v1{path}",
                data=data,
                headers={"Content-Type": "application/json"},
            ) as response:
                payload = await response.read()
                status = response.status
        except aiohttp.ClientError as e:
            raise SeekerError(f"cannot reach the Seeker at {self.url}: {e}") from e
        if status >= 400:
            raise ApiError(status, *read_error(payload))
        try:
            return canonical.loads(payload)
        except WireError as e:
            raise ApiError(
                status,
                "bad_response",
                f"the Seeker answered {status} with something that is not JSON",
            ) from e

    async def submit(self, job: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/jobs", job)

    async def job(self, job_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/jobs/{job_id}")

    async def jobs(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/jobs"))["jobs"]

    async def givers(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/givers"))["givers"]

    async def export(self, job_id: str, path: Path) -> int:
        """Write the job's records as JSON lines to `path`; the number of records."""
        url = f"{self.url}/api/v1/jobs/{job_id}/records"
        lines = 0
        try:
            async with self._session.get(url) as response:
                if response.status >= 400:
                    raise ApiError(response.status, *read_error(await response.read()))
                partial = path.with_name(f".{path.name}.partial")
                try:
                    with partial.open("wb") as out:
                        async for chunk in response.content.iter_chunked(EXPORT_CHUNK_BYTES):
                            await asyncio.to_thread(out.write, chunk)
                            lines += chunk.count(b"\n")
                    partial.replace(path)
                finally:
                    partial.unlink(missing_ok=True)
        except aiohttp.ClientError as e:
            raise SeekerError(f"export of {job_id} from {self.url} failed: {e}") from e
        except OSError as e:
            raise SeekerError(f"cannot write {path}: {e}") from e
        return lines
