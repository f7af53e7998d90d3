"""The operators' tokens page: every API token (never its value), and Revoke, as
`python -m bot token list` and `token revoke NAME` do on the command line."""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from web.pages.render import PREFIX, VIEWER, render
from web.services import SERVICES

log = logging.getLogger(__name__)

TOKENS = f"{PREFIX}/tokens"


def _operator(request: web.Request) -> str:
    viewer = request[VIEWER]
    if not viewer.may_write or viewer.courses is not None:
        raise web.HTTPForbidden(
            text="API tokens are managed by operators: a read-write API token or the admin "
            "role of the admin server."
        )
    return viewer.name


async def tokens_page(request: web.Request) -> web.Response:
    _operator(request)
    listing = await request.app[SERVICES].tokens.list_all()
    revoked = request.query.get("revoked")
    return await render(request, "tokens.html", {"tokens": listing, "revoked": revoked})


async def revoke(request: web.Request) -> web.StreamResponse:
    who = _operator(request)
    name = str((await request.post()).get("name", ""))
    if await request.app[SERVICES].tokens.revoke(name):
        log.info("api token revoked on the tokens page", extra={"token_name": name, "by": who})
    raise web.HTTPSeeOther(f"{TOKENS}?revoked={quote(name)}")


def add_routes(app: web.Application) -> None:
    app.router.add_get(TOKENS, tokens_page)
    app.router.add_post(f"{TOKENS}/revoke", revoke)
