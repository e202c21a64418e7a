"""The admission tokens page: issue a registration token (shown once, with a
copy button), list them, revoke one."""

import time

from aiohttp import web

from channel.wire.tokens import MAX_LABEL_CHARS
from seeker.admin.flash import act
from seeker.admin.render import page
from seeker.api.parts import parts
from seeker.errors import InvalidForm, InvalidTokenRequest
from seeker.grid.admission import token_view

# How long a new token stays valid, as offered on the page ("" for ever).
EXPIRY_CHOICES_S = {"3600": "1 hour", "86400": "1 day", "604800": "7 days", "": "never"}
BACK = "/admin/tokens"
MAX_USES = 1_000_000


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/tokens", list_tokens)
    router.add_post("/tokens", issue)
    router.add_post("/tokens/{token_id}/revoke", revoke)


async def list_tokens(request: web.Request) -> web.Response:
    return await _tokens_page(request)


async def issue(request: web.Request) -> web.Response:
    """Issue a token and show it in this answer, the only time it is ever shown."""
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in ("label", "expires_in_s", "uses")}
    try:
        expires_in_s, uses = _expiry(values["expires_in_s"]), _uses(values["uses"])
        token, doc = await parts(request).admissions.issue(
            time.time(), label=values["label"].strip(), expires_in_s=expires_in_s, uses=uses
        )
    except InvalidTokenRequest as e:
        errors = {e.field or "": str(e)}
        return await _tokens_page(request, status=400, values=values, errors=errors)
    except InvalidForm as e:
        return await _tokens_page(request, status=400, values=values, errors=e.errors)
    return await _tokens_page(request, status=201, issued=(token, token_view(doc, time.time())))


def _expiry(text: str) -> float | None:
    if text not in EXPIRY_CHOICES_S:
        raise InvalidForm("choose when the token expires", errors={"expires_in_s": "choose one"})
    return float(text) if text else None


def _uses(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        uses = int(text)
    except ValueError:
        uses = 0
    if not 1 <= uses <= MAX_USES:
        message = f"a whole number from 1 to {MAX_USES:,}, or empty for no limit"
        raise InvalidForm(f"uses: {message}", errors={"uses": message})
    return uses


async def revoke(request: web.Request) -> web.Response:
    token_id = request.match_info["token_id"]

    async def run() -> str:
        await parts(request).admissions.revoke_token(token_id, time.time())
        return f"Token {token_id} revoked: it admits no one from now on."

    return await act(request, BACK, run())


async def _tokens_page(
    request: web.Request,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    issued: tuple[str, dict[str, object]] | None = None,
) -> web.Response:
    now = time.time()
    tokens = await parts(request).admissions.tokens(now)
    response = page(
        request,
        "tokens.html",
        status=status,
        section="tokens",
        title="Admission tokens",
        tokens=sorted(tokens, key=lambda t: t["created_at"], reverse=True),
        values=values or {"label": "", "expires_in_s": "86400", "uses": ""},
        errors=errors or {},
        issued=issued,
        expiry_choices=EXPIRY_CHOICES_S,
        max_label=MAX_LABEL_CHARS,
        max_uses=MAX_USES,
        now=now,
    )
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"
    return response
