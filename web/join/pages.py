"""`GET /join/{token}`: the course, the person, what is done and what is left.

Public: the personal link is the only credential, so the page is never cached, never indexed,
and sends no Referer (the link is in the page's own address). A link that cannot be used gets a
page saying why and what to do, and changes nothing.
"""

from __future__ import annotations

import logging

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from provisioning.students.join import JoinView
from provisioning.students.links import JoinLinkError
from web.join.parts import JoinParts

log = logging.getLogger(__name__)

JOIN_PARTS = web.AppKey("join_parts", JoinParts)
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


def render(request: web.Request, status: int, template: str, **values: object) -> web.Response:
    """A page of the join templates, with the headers every join page carries."""
    html = request.app[TEMPLATES].get_template(template).render(values)
    return web.Response(status=status, body=html.encode(), headers=HEADERS)


def link_problem_page(request: web.Request, error: JoinLinkError) -> web.Response:
    """The page of a link that cannot be used, with the status that fits."""
    # The reason only: the token itself is a credential and stays out of the logs.
    log.info("join link refused", extra={"problem": error.problem})
    return render(request, _STATUS.get(error.problem, 400), "link_problem.html", error=error)


async def join_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    parts = request.app[JOIN_PARTS]
    try:
        view = await parts.view.view(token)
    except JoinLinkError as exc:
        return link_problem_page(request, exc)
    signing_in = parts.sign_in is not None and parts.actions is not None
    return render(
        request,
        200,
        "join.html",
        view=view,
        token=token,
        signing_in=signing_in,
        **_progress(view, signing_in),
    )


def _progress(view: JoinView, signing_in: bool) -> dict[str, object]:
    """What the person has done and what is left, in their words."""
    person = view.person
    done: list[str] = []
    left: list[str] = []
    if person.github_verified:
        done.append(f"You confirmed your GitHub account {person.github}.")
    if person.corrected_from is not None:
        done.append(
            f"The roster said {person.corrected_from}; it now says {person.github}, the account "
            "you signed in with."
        )
        old = f"The invitation that went to {person.corrected_from} by mistake"
        if person.withdrawal == "withdrawn":
            done.append(f"{old} was withdrawn.")
        elif person.withdrawal == "withdrawing":
            done.append(f"{old} is being withdrawn.")
        elif person.withdrawal == "needs_staff":
            left.append(
                f"{old} was accepted by that account before it could be withdrawn: your "
                "course staff have been told and will sort it out."
            )
    elif signing_in and person.github_state != "unknown_login":
        left.append("Sign in with GitHub, so the invitation reaches your own account.")
    if person.github_state == "accepted":
        done.append(f"You are a member of the GitHub organization {view.github_org}.")
    elif person.github_state == "invitation_pending":
        left.append(f"Accept the invitation to the GitHub organization {view.github_org}.")
    elif person.github_state == "unknown_login":
        fix = (
            "sign in with GitHub to correct it"
            if signing_in
            else "tell your course staff your GitHub login so they can correct it"
        )
        left.append(f"GitHub has no account {person.github!r}, the login on the roster: {fix}.")
    else:
        left.append("Your GitHub invitation is being prepared: come back to this page later.")
    if person.discord in ("roles_set", "joined"):
        done.append("You are in the course's Discord server with your roles.")
    elif not view.discord_ready:
        left.append(
            "The course's Discord server is not ready yet: come back to this page later "
            f"(this link works until {view.claim.expires_at:%d %B %Y})."
        )
    elif signing_in:
        left.append("Join the course's Discord server.")
    else:
        left.append("Join the course's Discord server with the invite link your staff posted.")
    return {"done": done, "left": left, "role_name": ROLE_NAMES.get(person.role, person.role)}


def templates() -> Environment:
    """The join pages' own template environment (nothing else renders with it)."""
    return Environment(
        loader=PackageLoader("web.join", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
