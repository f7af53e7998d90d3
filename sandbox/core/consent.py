"""The HTML of the sandbox's OAuth2 pages (Discord's and GitHub's authorize screens), from one
template so both look and behave alike: who you are (a user picker), what the application
asks for, and Authorize / Cancel. Everything is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import jinja2
from aiohttp import web

from sandbox.core.guard import CSRF_FIELD, set_csrf_cookie


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    disabled: bool = False


@dataclass(frozen=True)
class ConsentPage:
    """What an authorize screen shows; `action` is where its forms post (query included)."""

    platform: str
    app_name: str
    action: str
    csrf: str
    users: list[Choice]
    user: Choice | None
    grants: list[str] = field(default_factory=list)
    servers: list[Choice] | None = None
    """Servers to add a bot to (Discord's `bot` scope); None when the scope is not asked."""
    redirect_host: str | None = None
    error: str | None = None


@cache
def _templates() -> jinja2.Environment:
    # Built on first use, not at import (no import-time side effects).
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sandbox.core", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _page(name: str, status: int, csrf: str | None = None, **values: object) -> web.Response:
    text = _templates().get_template(name).render(csrf_field=CSRF_FIELD, **values)
    response = web.Response(text=text, status=status, content_type="text/html")
    # The pages are the sandbox's own: no other site may frame them (clickjacking a consent).
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    if csrf is not None:
        set_csrf_cookie(response, csrf)
    return response


def consent_response(page: ConsentPage, status: int = 200) -> web.Response:
    return _page("consent.html", status, page.csrf, page=page)


def message_response(platform: str, title: str, message: str, status: int = 200) -> web.Response:
    """A page with one message: an error the platform shows instead of redirecting, or a result."""
    return _page("message.html", status, platform=platform, title=title, message=message)
