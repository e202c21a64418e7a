"""A small client of the Seeker's JSON API, used by the CLI and the demo."""

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import aiohttp

from channel.errors import WireError
from channel.jsonweb import read_error, retry_after_s
from channel.wire import canonical
from seeker.errors import ApiError, SeekerError
from seeker.views.paging import MAX_LIMIT

EXPORT_CHUNK_BYTES = 64 * 1024
# How long a command waits for a Seeker to lead (a takeover takes about the leader
# lease), asking again as each 503 `not_leader` or `no_leader` says.
LEADER_WAIT_S = 60.0
WAITING_CODES = ("not_leader", "no_leader")
DEFAULT_RETRY_AFTER_S = 1.0


class LeaderWait:
    """Waiting out a failover, for one request: `again()` says whether to send it once
    more, after the pause the answer asked for; the first pause tells the user once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._deadline: float | None = None

    async def again(self, status: int, code: str, message: str, retry_after: str | None) -> bool:
        if status != 503 or code not in WAITING_CODES:
            return False
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + LEADER_WAIT_S
            print(
                f"seeker: {self.url}: {message}; waiting up to {LEADER_WAIT_S:.0f} s "
                "for a Seeker to lead",
                file=sys.stderr,
            )
        if now >= self._deadline:
            return False
        pause_s = retry_after_s(retry_after)
        if pause_s is None:
            pause_s = DEFAULT_RETRY_AFTER_S
        await asyncio.sleep(min(pause_s, self._deadline - now))
        return True


@dataclass(frozen=True, slots=True)
class Tokens:
    """A kind of token the API issues, lists and revokes alike: under `path`, listed
    in the answer's `listed` field."""

    path: str
    listed: str


ADMISSION = Tokens("/tokens", "tokens")
OPERATOR = Tokens("/operator/tokens", "tokens")
READER = Tokens("/readers", "readers")

# A request's body: opened anew for each attempt (a file is read from its start).
Body = Callable[[], AbstractAsyncContextManager[Any]]


class SeekerClient:
    """Talks to the Seeker at `url` as the operator holding `token`; every failure
    is an ApiError or SeekerError."""

    def __init__(self, url: str, *, token: str = "") -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = aiohttp.ClientSession(headers=headers)

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> "SeekerClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else canonical.dumps(body)
        return await self._send(
            method, path, lambda: nullcontext(data), {"Content-Type": "application/json"}
        )

    async def _send(
        self, method: str, path: str, body: Body, headers: dict[str, str], *, sending: str = ""
    ) -> Any:
        """Send the request, again while no Seeker leads, with the data `body()` opens
        anew each time; its JSON answer. `sending` names what a failure to send the
        body is about."""
        wait = LeaderWait(self.url)
        while True:
            try:
                async with (
                    body() as data,
                    self._session.request(
                        method, f"{self.url}/api/v1{path}", data=data, headers=headers
                    ) as response,
                ):
                    payload = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except aiohttp.ClientError as e:
                error = f"cannot reach the Seeker at {self.url}: {e}"
                raise SeekerError(f"sending {sending} failed: {error}" if sending else error) from e
            if status < 400:
                break
            code, message = read_error(payload)
            if not await wait.again(status, code, message, retry_after):
                raise ApiError(status, code, message)
        try:
            return canonical.loads(payload)
        except WireError as e:
            raise ApiError(
                status,
                "bad_response",
                f"the Seeker answered {status} with something that is not JSON",
            ) from e

    async def submit(self, job: dict[str, Any], keys_file: Path | None = None) -> dict[str, Any]:
        """Submit a job; with `keys_file`, its keys stream from that file."""
        if keys_file is None:
            return await self._call("POST", "/jobs", job)

        @asynccontextmanager
        async def form() -> AsyncIterator[aiohttp.MultipartWriter]:
            async with _opened(keys_file, "keys file") as keys:
                with aiohttp.MultipartWriter("form-data") as form:
                    form.append_json(job).set_content_disposition("form-data", name="job")
                    form.append(keys).set_content_disposition(
                        "form-data", name="keys", filename=keys_file.name
                    )
                    yield form

        return await self._send("POST", "/jobs", form, {}, sending=f"keys file {keys_file}")

    async def job(self, job_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/jobs/{job_id}")

    async def replay(self, job_id: str, key: str) -> dict[str, Any]:
        """GET /jobs/JOB/replay: what replaying a failed key takes."""
        return await self._call("GET", f"/jobs/{quote(job_id, safe='')}/replay?key={quote(key)}")

    async def jobs(self) -> list[dict[str, Any]]:
        """Every job, newest first, read a page at a time."""
        jobs: list[dict[str, Any]] = []
        path = f"/jobs?limit={MAX_LIMIT}"
        while True:
            page = await self._call("GET", path)
            jobs += page["jobs"]
            if page["next"] is None:
                return jobs
            path = f"/jobs?limit={MAX_LIMIT}&after={quote(page['next'], safe='')}"

    async def delete_job(self, job_id: str) -> dict[str, Any]:
        """DELETE /jobs/JOB: delete a done or cancelled job; the job as it was."""
        return await self._call("DELETE", f"/jobs/{quote(job_id, safe='')}")

    async def givers(self) -> dict[str, Any]:
        """GET /givers: `givers` registered, `flagged`, `purged` lately, `pending` approval."""
        return await self._call("GET", "/givers")

    async def act(self, job_id: str, action: str, body: Any = None) -> dict[str, Any]:
        """POST /jobs/JOB/ACTION: pause, resume, cancel, priority, blocks/N/invalidate."""
        return await self._call(
            "POST", f"/jobs/{job_id}/{action}", body if body is not None else {}
        )

    async def unflag(self, giver_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/givers/{giver_id}/unflag", {})

    async def approve(self, giver_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/givers/{giver_id}/approve", {})

    async def revoke(self, giver_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/givers/{giver_id}/revoke", {})

    async def identity(self) -> dict[str, Any]:
        return await self._call("GET", "/identity")

    async def issue_token(self, body: dict[str, Any], kind: Tokens = ADMISSION) -> dict[str, Any]:
        """A new token of `kind` (admission tokens by default), with its text."""
        return await self._call("POST", kind.path, body)

    async def tokens(self, kind: Tokens = ADMISSION) -> list[dict[str, Any]]:
        return (await self._call("GET", kind.path))[kind.listed]

    async def revoke_token(
        self, token_id: str, kind: Tokens = ADMISSION, *, force: bool = False
    ) -> dict[str, Any]:
        """Revoke a token; `force` for an operator token that may be this client's own."""
        body = {"force": True} if force else {}
        return await self._call("POST", f"{kind.path}/{token_id}/revoke", body)

    async def set_password(self, password: str) -> dict[str, Any]:
        return await self._call("PUT", "/operator/password", {"password": password})

    async def add_scraper(self, image: str) -> dict[str, Any]:
        return await self._call("POST", "/scrapers", {"image": image})

    async def scrapers(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/scrapers"))["scrapers"]

    async def scraper(self, name: str) -> dict[str, Any]:
        return await self._call("GET", f"/scrapers/{quote(name, safe='')}")

    async def remove_scraper(self, name: str) -> dict[str, Any]:
        return await self._call("DELETE", f"/scrapers/{quote(name, safe='')}")

    async def invalidate_giver(self, giver_id: str, since: float) -> dict[str, Any]:
        return await self._call("POST", f"/givers/{giver_id}/invalidate", {"since": since})

    async def add_schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/schedules", body)

    async def schedules(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/schedules"))["schedules"]

    async def schedule(self, ref: str) -> dict[str, Any]:
        """A schedule (by id or name) with its runs."""
        return await self._call("GET", f"/schedules/{quote(ref, safe='')}")

    async def steer_schedule(self, ref: str, action: str) -> dict[str, Any]:
        """POST /schedules/REF/ACTION: pause or resume."""
        return await self._call("POST", f"/schedules/{quote(ref, safe='')}/{action}", {})

    async def remove_schedule(self, ref: str) -> dict[str, Any]:
        return await self._call("DELETE", f"/schedules/{quote(ref, safe='')}")

    async def load_state(self, path: Path) -> dict[str, Any]:
        return await self._send("POST", "/jobs/state", lambda: _opened(path, "state file"), {})

    async def chunks(self, what: str) -> AsyncIterator[bytes]:
        """The body of GET /jobs/...`what` (JSON lines), as it arrives."""
        url = f"{self.url}/api/v1/jobs/{what}"
        wait = LeaderWait(self.url)
        try:
            while True:
                async with self._session.get(url) as response:
                    if response.status >= 400:
                        code, message = read_error(await response.read())
                        retry_after = response.headers.get("Retry-After")
                        if await wait.again(response.status, code, message, retry_after):
                            continue
                        raise ApiError(response.status, code, message)
                    async for chunk in response.content.iter_chunked(EXPORT_CHUNK_BYTES):
                        yield chunk
                    return
        except aiohttp.ClientError as e:
            raise SeekerError(f"download of {what} from {self.url} failed: {e}") from e

    async def download(self, what: str, path: Path) -> int:
        """Write GET /jobs/...`what` (JSON lines) to `path`, whole or not at all; the
        number of lines."""
        return await write_whole(self.chunks(what), path)


@asynccontextmanager
async def _opened(path: Path, what: str) -> AsyncIterator[BinaryIO]:
    """`path` open for reading, closed after; SeekerError naming it as `what` if it
    cannot be opened."""
    try:
        opened = await asyncio.to_thread(path.open, "rb")
    except OSError as e:
        raise SeekerError(f"cannot read {what} {path}: {e}") from e
    try:
        yield opened
    finally:
        await asyncio.to_thread(opened.close)


async def write_whole(chunks: AsyncIterator[bytes], path: Path) -> int:
    """Write `chunks` of JSON lines to `path`, whole or not at all; the number of lines."""
    lines = 0
    partial = path.with_name(f".{path.name}.partial")
    try:
        out = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(out.write, chunk)
                lines += chunk.count(b"\n")
        finally:
            await asyncio.to_thread(out.close)
        await asyncio.to_thread(partial.replace, path)
    except OSError as e:
        raise SeekerError(f"cannot write {path}: {e}") from e
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
    return lines
