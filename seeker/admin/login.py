"""The sign-in page: one field, a password or an operator token."""

from aiohttp import web

from seeker.admin.render import page


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/login", login_page)


async def login_page(request: web.Request) -> web.Response:
    return page(request, "login.html", section="login", title="Sign in", error="")
