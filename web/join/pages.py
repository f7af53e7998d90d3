"""`GET /join/{token}`: the course, the person, what is done and what is left.

Public: the personal link is the only credential, so the page is never cached, never indexed,
and sends no Referer (the link is in the page's own address). A link that cannot be used gets a
page saying why and what to do, and changes nothing.
"""

from __future__ import annotations

import logging

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from provisioning.students.join import JoinService, JoinView
from provisioning.students.links import JoinLinkError

log = logging.getLogger(__name__)

JOIN = web.AppKey("join", JoinService)
TEMPLATES = web.AppKey("join_templates", Environment)
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    # No script at all; the page's one style block is inline.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
# Why a link cannot be used → the HTTP status of its page.
_STATUS = {"expired": 410, "superseded": 410, "not_on_roster": 404, "other_course": 404}
ROLE_NAMES = {"instructor": "instructor", "ta": "teaching assistant", "student": "student"}


def _render(request: web.Request, status: int, template: str, **values: object) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(values)
    return web.Response(status=status, body=html.encode(), headers=HEADERS)


async def join_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    try:
        view = await request.app[JOIN].view(token)
    except JoinLinkError as exc:
        # The reason only: the token itself is a credential and stays out of the logs.
        log.info("join link refused", extra={"problem": exc.problem})
        return _render(request, _STATUS.get(exc.problem, 400), "link_problem.html", error=exc)
    return _render(request, 200, "join.html", view=view, **_progress(view))


def _progress(view: JoinView) -> dict[str, object]:
    """What the person has done and what is left, in their words."""
    person = view.person
    done: list[str] = []
    left: list[str] = []
    if person.github_state == "accepted":
        done.append(f"You are a member of the GitHub organization {view.github_org}.")
    elif person.github_state == "invitation_pending":
        left.append(f"Accept the invitation to the GitHub organization {view.github_org}.")
    elif person.github_state == "unknown_login":
        left.append(
            f"GitHub has no account {person.github!r}, the login on the roster: tell your course "
            "staff your GitHub login so they can correct it."
        )
    else:
        left.append("Your GitHub invitation is being prepared: come back to this page later.")
    if person.discord == "roles_set":
        done.append("You are in the course's Discord server with your roles.")
    elif not view.discord_ready:
        left.append(
            "The course's Discord server is not ready yet: come back to this page later "
            f"(this link works until {view.claim.expires_at:%d %B %Y})."
        )
    else:
        left.append("Join the course's Discord server.")
    return {"done": done, "left": left, "role_name": ROLE_NAMES.get(person.role, person.role)}


def add_routes(app: web.Application, service: JoinService) -> None:
    app[JOIN] = service
    app[TEMPLATES] = Environment(
        loader=PackageLoader("web.join", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.router.add_get("/join/{token}", join_page, name="join_page")
