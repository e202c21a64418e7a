"""The HTTP client for datasets: upload, list, download and delete with a reader token."""

import hashlib
from collections.abc import AsyncIterator

import aiohttp

from channel.errors import DatasetRefused, StoreUnavailable, WireError
from channel.jsonweb import read_error
from channel.service.datasets import SHA256_HEADER
from channel.service.routing import NDJSON
from channel.store.datasets import Dataset
from channel.wire import canonical


class DatasetClient:
    """Dataset requests to the Channel service at `url` (e.g. http://seeker:8765/channel)
    with the reader token `token`."""

    def __init__(self, url: str, token: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = session

    async def put(
        self, name: str, body: AsyncIterator[bytes], size_bytes: int | None = None
    ) -> Dataset:
        """Upload `body` (JSON lines, streamed) as dataset `name`; with its size known
        the Channel may refuse it before it is sent."""
        headers = {**self._headers, "Content-Type": NDJSON}
        if size_bytes is not None:
            headers["Content-Length"] = str(size_bytes)
        try:
            async with self._session.put(
                self._path(name), data=body, headers=headers, expect100=size_bytes is not None
            ) as response:
                return Dataset.from_wire(await self._json(response, name, 201))
        except aiohttp.ClientError as e:
            raise self._unreachable(e) from e

    async def list(self) -> list[Dataset]:
        """The datasets the token may read."""
        answer = await self._get_json("/v1/datasets", "")
        if not isinstance(answer, dict) or not isinstance(answer.get("datasets"), list):
            raise WireError(f"not a list of datasets: {str(answer)[:200]}")
        return [Dataset.from_wire(item) for item in answer["datasets"]]

    async def meta(self, name: str) -> Dataset:
        return Dataset.from_wire(await self._get_json(f"/v1/datasets/{name}/meta", name))

    async def delete(self, name: str) -> Dataset:
        """Remove a dataset; its metadata."""
        try:
            async with self._session.delete(self._path(name), headers=self._headers) as response:
                return Dataset.from_wire(await self._json(response, name, 200))
        except aiohttp.ClientError as e:
            raise self._unreachable(e) from e

    async def download(self, name: str) -> AsyncIterator[bytes]:
        """The dataset's JSON lines in pieces as they arrive; WireError at the end if
        they do not hash to what the Channel announced."""
        digest = hashlib.sha256()
        try:
            async with self._session.get(self._path(name), headers=self._headers) as response:
                if response.status != 200:
                    await self._json(response, name, 200)
                expected = response.headers.get(SHA256_HEADER, "")
                async for piece in response.content.iter_any():
                    digest.update(piece)
                    yield piece
        except aiohttp.ClientError as e:
            raise self._unreachable(e) from e
        if digest.hexdigest() != expected:
            raise WireError(f"dataset {name}: what arrived does not match its SHA-256 {expected}")

    def _path(self, name: str) -> str:
        return f"{self.url}/v1/datasets/{name}"

    async def _get_json(self, path: str, name: str) -> object:
        try:
            async with self._session.get(f"{self.url}{path}", headers=self._headers) as response:
                return await self._json(response, name, 200)
        except aiohttp.ClientError as e:
            raise self._unreachable(e) from e

    async def _json(self, response: aiohttp.ClientResponse, name: str, status: int) -> object:
        body = await response.read()
        if response.status == status:
            return canonical.loads(body)
        code, message = read_error(body)
        if response.status in (502, 503, 504):
            raise StoreUnavailable(
                f"the Channel answered {response.status}: {message}", url=self.url
            )
        raise DatasetRefused(name, response.status, code, message)

    def _unreachable(self, e: aiohttp.ClientError) -> StoreUnavailable:
        return StoreUnavailable(f"cannot reach the Channel at {self.url}: {e}", url=self.url)
