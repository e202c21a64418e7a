"""The Givers page: who gives (capabilities, trust, current tasks, last seen),
who waits for approval, who was flagged or purged; and the operator's actions
on them."""

import time

from aiohttp import web

from seeker.admin.flash import act
from seeker.admin.render import page
from seeker.api.parts import parts
from seeker.errors import InvalidForm
from seeker.grid import actions
from seeker.views.givers import givers_view

# How far back "invalidate recent work" reaches, as offered on the page.
SINCE_CHOICES_S = {"3600": "the last hour", "86400": "the last 24 hours", "0": "all time"}
BACK = "/admin/givers"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/givers", list_givers)
    router.add_post("/givers/{giver_id}/approve", approve)
    router.add_post("/givers/{giver_id}/revoke", revoke)
    router.add_post("/givers/{giver_id}/unflag", unflag)
    router.add_post("/givers/{giver_id}/invalidate", invalidate)


async def list_givers(request: web.Request) -> web.Response:
    seeker = parts(request)
    view = givers_view(seeker.coordinator)
    givers = sorted(view["givers"], key=lambda g: (not g["online"], g["name"]))
    return page(
        request,
        "givers.html",
        section="givers",
        title="Givers",
        givers=givers,
        pending=seeker.admissions.pending(),
        flagged=view["flagged"],
        purged=list(reversed(view["purged"])),
        since_choices=SINCE_CHOICES_S,
        now=time.time(),
    )


async def approve(request: web.Request) -> web.Response:
    giver_id = request.match_info["giver_id"]

    async def run() -> str:
        doc = await parts(request).admissions.approve(giver_id, time.time())
        return f"Giver {doc['name'] or giver_id} is admitted; it gets work once it connects."

    return await act(request, BACK, run())


async def revoke(request: web.Request) -> web.Response:
    giver_id = request.match_info["giver_id"]

    async def run() -> str:
        seeker = parts(request)
        done = await actions.revoke_giver(seeker.admissions, seeker.coordinator, giver_id)
        return f"Giver {giver_id} revoked; {done['leases']} task(s) back in the pool."

    return await act(request, BACK, run())


async def unflag(request: web.Request) -> web.Response:
    giver_id = request.match_info["giver_id"]

    async def run() -> str:
        if not await actions.unflag_giver(parts(request).coordinator, giver_id):
            return f"Giver {giver_id} was not flagged."
        return f"Giver {giver_id} is no longer flagged; it gets work again."

    return await act(request, BACK, run())


async def invalidate(request: web.Request) -> web.Response:
    giver_id = request.match_info["giver_id"]
    choice = (await request.post()).get("since", "")

    async def run() -> str:
        if not isinstance(choice, str) or choice not in SINCE_CHOICES_S:
            raise InvalidForm("choose how far back to invalidate", errors={"since": "choose one"})
        since = time.time() - float(choice) if choice != "0" else 0.0
        done = await actions.invalidate_giver(parts(request).coordinator, giver_id, since)
        return (
            f"Work of Giver {giver_id} from {SINCE_CHOICES_S[choice]} invalidated: "
            f"{done['blocks']} block(s) back in the pool."
        )

    return await act(request, BACK, run())
