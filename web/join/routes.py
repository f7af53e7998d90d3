"""The join pages' routes, added to the product's application by `web.app.create_app`."""

from __future__ import annotations

from aiohttp import web

from web.join import oauth
from web.join.pages import JOIN_PARTS, TEMPLATES, join_page, templates
from web.join.parts import JoinParts


def add_routes(app: web.Application, parts: JoinParts) -> None:
    app[JOIN_PARTS] = parts
    app[TEMPLATES] = templates()
    app.router.add_get("/join/{token}", join_page, name="join_page")
    if parts.sign_in is not None and parts.actions is not None:
        oauth.add_routes(app)
