"""The course page: state, progress, steps by group, the claim while the server is missing,
Retry, and live updates (server-sent events re-render the live part when a step changes)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_sse import sse_response

from provisioning.claims.codes import waiting_for_claim
from provisioning.courses.invitation_notes import wait_reason, waiting_among
from provisioning.courses.spec import CourseSpec
from provisioning.courses.views import CourseRecord, CourseStatus, StepStatus
from provisioning.discord.invite_links import links_version
from provisioning.discord.server_count import warning
from provisioning.discord.steps.server import install_link
from provisioning.errors import NothingToRetryError, ProvisioningError
from provisioning.github.invitations import WAIT_CODE
from provisioning.plan import course_slug
from web.pages.course_people import invites_context, roster_context
from web.pages.courses import STATE_WORDS
from web.pages.render import PREFIX, VIEWER, render
from web.params import course_id_param
from web.services import SERVICES, Services
from web.session import Viewer, csrf_token

log = logging.getLogger(__name__)

# How often an open page's stream asks whether anything changed (one cheap aggregate query).
LIVE_POLL_S = 1.0
# Set when the server shuts down: open streams end at once instead of holding the shutdown
# for aiohttp's grace period.
LIVE_STOP = web.AppKey("live_stop", asyncio.Event)
# The page's live parts: (event name, template), each replacing the element of the same id
# (`status`: #live, `steps`: #steps; see app.js).
LIVE_PARTS = (("status", "course_live.html"), ("steps", "course_steps.html"))
# The invite links (staff only), replacing #invites, sent only when they changed: reading them
# asks Discord.
INVITES_PART = ("invites", "course_invites.html")
RETRYABLE = ("failed", "blocked", "awaiting_action")
STEP_WORDS = {
    "pending": "Pending",
    "running": "Running",
    "succeeded": "Done",
    "failed": "Failed",
    "blocked": "Blocked",
    "awaiting_action": "Waiting for you",
}
_FAILED_HINT = (
    "Fix the cause if it is on your side, then press Retry; the audit log has the platform's "
    "full answer."
)
_BLOCKED_HINT = "Waits for a step it needs, which failed: retrying that one retries this one."


@dataclass
class StepGroup:
    title: str
    steps: list[StepStatus] = field(default_factory=list)


def _group_title(step: StepStatus, groups: list[str]) -> str:
    qualifiers = step.key.split(":")[1:]
    group = next((g for g in groups if g in qualifiers), None)
    if group is not None:
        return f"Lab group {group}"
    return "GitHub" if step.kind.startswith("github.") else "Discord"


def grouped(status: CourseStatus, spec: CourseSpec) -> list[StepGroup]:
    """GitHub, Discord, then one group per lab group, each in plan order."""
    titles = ["GitHub", "Discord", *(f"Lab group {g}" for g in spec.groups)]
    by_title = {title: StepGroup(title) for title in titles}
    for step in status.steps:
        by_title[_group_title(step, spec.groups)].steps.append(step)
    return [g for g in by_title.values() if g.steps]


def what_to_do(step: StepStatus) -> str | None:
    if step.action_hint:
        return step.action_hint
    if step.state == "failed":
        return _FAILED_HINT
    if step.state == "blocked":
        return _BLOCKED_HINT
    return None


def link_of(
    step: StepStatus, record: CourseRecord, guild_id: str | None, github_web_url: str
) -> str | None:
    """Where a made resource is: its repository on GitHub, its channel on Discord."""
    if step.state != "succeeded" or step.external_id is None:
        return None
    if step.kind == "github.repo":
        name = f"{course_slug(record.spec)}-{step.key.split(':', 1)[1]}"
        return f"{github_web_url}/{record.github_org}/{name}"
    if step.kind == "discord.channel" and guild_id:
        return f"https://discord.com/channels/{guild_id}/{step.external_id}"
    return None


async def _install_link(services: Services, spec: CourseSpec) -> str | None:
    if services.application_id is None:
        return None
    try:
        return install_link(await services.application_id(), spec)
    except ProvisioningError:
        log.warning("no install link: the bot's application id is unavailable", exc_info=True)
        return None


def visible_course(request: web.Request, course_id: str) -> Viewer:
    viewer = request[VIEWER]
    if not viewer.may_see(course_id):
        rights = request.app[SERVICES].staff_rights
        admin = f"admin role ({rights.admin_role})" if rights is not None else "admin role"
        raise web.HTTPForbidden(
            text=f"This course is shown to the {admin} of the admin server and to the "
            "course's own Instructor and TA roles; you have none of them."
        )
    return viewer


async def live_context(request: web.Request, record: CourseRecord) -> dict[str, Any]:
    """What the live part of the page shows, read fresh."""
    services = request.app[SERVICES]
    viewer = request[VIEWER]
    status = await services.courses.status(record.id)
    total = len(status.steps)
    done = status.counts.get("succeeded", 0)
    server = next((s for s in status.steps if s.key == "discord.server"), None)
    guild_id = server.external_id if server is not None else None
    claim = None
    if viewer.may_change(record.id) and waiting_for_claim(status):
        claim = {
            "code": services.claim_code(record.id),
            "link": await _install_link(services, record.spec),
        }
    return {
        "record": record,
        "status": status,
        "state_words": STATE_WORDS,
        "step_words": STEP_WORDS,
        "groups": grouped(status, record.spec),
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        "claim": claim,
        "servers": services.server_notice(),
        "servers_warning": warning,
        "may_retry": viewer.may_change(record.id)
        and any(status.counts.get(s, 0) for s in RETRYABLE),
        "what_to_do": what_to_do,
        "link_of": lambda step: link_of(step, record, guild_id, services.github_web_url),
        "drift": await services.drift(record.id),
        "invitations": waiting_among(status.steps, WAIT_CODE),
        # A step waiting for GitHub's invitations is not in error: its message is not red, and
        # its time is the step's own next attempt, shown like every time on the page.
        "wait_code": WAIT_CODE,
        "wait_reason": wait_reason,
        "invites_version": links_version(status),
    }


async def course_page(request: web.Request) -> web.Response:
    course_id = course_id_param(request)
    record = await request.app[SERVICES].courses.get(course_id)
    viewer = visible_course(request, record.id)
    context = await live_context(request, record)
    context |= await roster_context(request, record.id)
    context |= await invites_context(request, viewer, record, context["status"])
    notices = {
        "retry=retried": "Retry requested: the failed and waiting steps run again.",
        "retry=nothing": "Nothing to retry: no step has failed or waits.",
        "created=new": "Course created. GitHub starts now; Discord after the server is claimed.",
        "created=exists": "This course (same code and term) exists already: here it is. "
        "Nothing new was created.",
        "archive=done": "Archived: repositories become read-only, channels read-only for "
        "students, invite links revoked. The steps below show the work as it is done.",
        "unarchive=done": "Unarchived: the course is planned again as before, with new invite "
        "links. The steps below show the work as it is done.",
    }
    context["notice"] = next(
        (text for key, text in notices.items() if request.query_string == key), None
    )
    return await render(request, "course.html", context)


async def retry(request: web.Request) -> web.StreamResponse:
    course_id = course_id_param(request)
    viewer = visible_course(request, course_id)
    if not viewer.may_change(course_id):
        raise web.HTTPForbidden(
            text="Retrying needs a read-write API token, the admin role, or the course's "
            "Instructor role."
        )
    try:
        await request.app[SERVICES].courses.retry(course_id, actor=f"web:{viewer.name}")
        outcome = "retried"
    except NothingToRetryError:
        outcome = "nothing"
    raise web.HTTPSeeOther(f"{PREFIX}/courses/{course_id}?retry={outcome}")


async def events(request: web.Request) -> web.StreamResponse:
    """The live part, re-rendered and sent as an event whenever a step of the course changed."""
    course_id = course_id_param(request)
    services = request.app[SERVICES]
    record = await services.courses.get(course_id)
    viewer = visible_course(request, record.id)
    base = {"viewer": viewer, "csrf": await csrf_token(request), "prefix": PREFIX}
    seen = ""
    # The invite links as the page showed them (its events URL says which), so a claim or a
    # new invite shows without a reload, and nothing else asks Discord again.
    seen_invites = request.query.get("invites", "")
    async with sse_response(request) as stream:
        try:
            while stream.is_connected():
                summary = await services.courses.status_summary(course_id)
                servers = services.server_notice()
                # The bot's server count is part of what the page shows, beside the steps.
                version = f"{summary.version}-{servers.count if servers else ''}"
                if version != seen:
                    seen = version
                    context = {**base, **await live_context(request, record)}
                    # The parts of the page, apart: the roster sits between them.
                    parts = list(LIVE_PARTS)
                    if context["invites_version"] != seen_invites:
                        seen_invites = context["invites_version"]
                        context |= await invites_context(request, viewer, record, context["status"])
                        parts.append(INVITES_PART)
                    for event, template in parts:
                        fragment = aiohttp_jinja2.render_string(template, request, context)
                        await stream.send(fragment, event=event)
                try:
                    await asyncio.wait_for(request.app[LIVE_STOP].wait(), LIVE_POLL_S)
                    break
                except TimeoutError:
                    pass
        except Exception:
            # The browser left, or the database went away mid-stream (the web layer does not
            # know the driver's errors): the answer has begun, so no error page can follow. The
            # stream ends; the browser reconnects and then gets the page guard's answer (sign-in,
            # the 503 page) like any request.
            log.warning("live stream ended early", exc_info=True, extra={"course_id": course_id})
    return stream


async def _stop_live(app: web.Application) -> None:
    app[LIVE_STOP].set()


def add_routes(app: web.Application) -> None:
    app[LIVE_STOP] = asyncio.Event()
    app.on_shutdown.append(_stop_live)
    app.router.add_get(f"{PREFIX}/courses/{{course_id}}", course_page)
    app.router.add_post(f"{PREFIX}/courses/{{course_id}}/retry", retry)
    app.router.add_get(f"{PREFIX}/courses/{{course_id}}/events", events)
