"""Rendering a page: the template environment, what every page gets, and an HTML error page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from web.session import Viewer, csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static" / "app"
PREFIX = "/app"
VIEWER = web.RequestKey("viewer", Viewer)


def when(value: datetime | None) -> Markup:
    """A time as UTC text, which the page's script rewrites in the viewer's time zone."""
    if value is None:
        return Markup("–")
    text = value.strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), text)


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when


async def render(
    request: web.Request, name: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """`name` rendered with the viewer, the CSRF token and the page's own `context`."""
    base = {
        "viewer": request.get(VIEWER),
        "csrf": await csrf_token(request),
        "prefix": PREFIX,
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(name, request, {**base, **context}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def error_page(
    request: web.Request, status: int, title: str, detail: str, *, hint: str = ""
) -> web.Response:
    return await render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "hint": hint},
        status=status,
    )


def html(text: str) -> Markup:
    return escape(text)
