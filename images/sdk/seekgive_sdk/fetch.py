"""HTTP GET for scrapers (urllib, no third-party packages).

urllib reads the proxy variables, so a task with the network goes out through
the Giver's egress gateway (see egress). A refusal by the gateway is an HTTP
403 whose reason says why, and fails the key with that reason.
"""

import http.client
import urllib.error
import urllib.request

from .errors import HTTPStatusError, KeyFailed

USER_AGENT = "seekgive-sdk/1"


def fetch_text(url: str, *, timeout_s: float, accept: str = "*/*") -> str:
    """GET ``url`` and return the body decoded as text.

    ``timeout_s`` bounds each network operation (connect, each read). Raises
    HTTPStatusError (a KeyFailed, with ``.status``) on a 4xx or 5xx answer and
    KeyFailed on connection errors and timeouts, so an uncaught failure fails
    only the current key.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            body: bytes = response.read()
    except urllib.error.HTTPError as e:
        e.close()
        reason = f"HTTP {e.code} {e.reason}" if e.reason else f"HTTP {e.code}"
        raise HTTPStatusError(e.code, reason) from e
    except urllib.error.URLError as e:
        raise KeyFailed(f"connection error: {e.reason}") from e
    except (OSError, http.client.HTTPException) as e:
        raise KeyFailed(f"connection error: {type(e).__name__}: {e}") from e
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # the server named a charset Python does not know
        return body.decode("utf-8", errors="replace")
