"""Puts the status page into the web application: templates, session, guard, routes, files."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from web.pages import (
    audit,
    course,
    courses,
    discord_sign_in,
    end_of_term,
    new_course,
    sign_in,
    tokens,
)
from web.pages.guard import page_guard
from web.pages.render import PREFIX, STATIC, setup_templates
from web.services import Services
from web.session import session_middleware_for


def page_middlewares(services: Services) -> list[Middleware]:
    """Inside the REST middlewares: the session first, then the page guard (which needs it)."""
    return [
        session_middleware_for(services.session_key, secure=services.secure_cookies),
        page_guard,
    ]


def add_pages(app: web.Application) -> None:
    setup_templates(app)
    sign_in.add_routes(app)
    discord_sign_in.add_routes(app)
    courses.add_routes(app)
    # Before the course page's route, whose {course_id} would take "new".
    new_course.add_routes(app)
    course.add_routes(app)
    end_of_term.add_routes(app)
    audit.add_routes(app)
    tokens.add_routes(app)
    app.router.add_static(f"{PREFIX}/static", STATIC)
