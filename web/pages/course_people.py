"""The course page's people: the roster, a page at a time, and (for staff) the invite links
read live from Discord."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from provisioning.courses.views import CourseRecord, CourseStatus
from provisioning.discord.invite_links import InviteLink
from provisioning.errors import ProvisioningError
from web.params import after_param
from web.services import SERVICES
from web.session import Viewer

log = logging.getLogger(__name__)

# People per page of the roster table: a section of the course page, not the whole page.
ROSTER_PAGE = 25
EMAIL_WORDS = {
    "no_address": "No address",
    "queued": "Queued",
    "sent": "Sent",
    "retrying": "Retrying",
    "bounced": "Bounced",
    "waiting": "Waiting for you",
}
GITHUB_WORDS = {
    "queued": "Queued",
    "invitation_pending": "Invitation pending",
    "accepted": "Accepted",
    "expired": "Expired, sent again",
    "unknown_login": "Unknown login",
    "waiting": "Waiting for you",
    "failed": "Failed",
}
DISCORD_WORDS = {
    "not_linked": "Not linked",
    "linked": "Linked: roles when they join",
    "joined": "Joined",
    "roles_set": "Joined, roles set",
    "waiting": "Waiting for you",
    "failed": "Failed",
}
# Badges reuse the step colours: good, in progress, needs a person, broken.
TONE = {
    "sent": "succeeded",
    "accepted": "succeeded",
    "roles_set": "succeeded",
    "joined": "succeeded",
    "bounced": "failed",
    "failed": "failed",
    "unknown_login": "awaiting_action",
    "waiting": "awaiting_action",
}


async def roster_context(request: web.Request, course_id: str) -> dict[str, Any]:
    """One page of the roster (`?after=` the last person of the previous page)."""
    roster = request.app[SERVICES].roster
    if roster is None:
        return {"roster": None}
    after = after_param(request)
    page = await roster.page(course_id, after=after, limit=ROSTER_PAGE)
    return {
        "roster": page,
        "roster_after": after,
        "email_words": EMAIL_WORDS,
        "github_words": GITHUB_WORDS,
        "discord_words": DISCORD_WORDS,
        "tone": lambda state: TONE.get(state, "pending"),
    }


async def invites_context(
    request: web.Request, viewer: Viewer, record: CourseRecord, status: CourseStatus
) -> dict[str, Any]:
    """The invite links, for staff only; what went wrong reading them, in words. `status`:
    the course's, as the page just read it."""
    invites = request.app[SERVICES].invites
    if invites is None or not viewer.is_staff_of(record.id):
        return {"invites": None}
    links: list[InviteLink] = []
    problem = None
    if record.archived_at is not None:
        # Archiving takes the invite steps out of the plan: their links are being revoked or
        # are gone, so none is worth reading (or handing out).
        return {"invites": links, "invites_problem": problem}
    try:
        links = await invites.links(record.id, status)
    except ProvisioningError as exc:
        # No server yet, or Discord did not answer: the rest of the page still shows.
        log.info("invite links not shown: %s", exc.detail, extra={"course_id": record.id})
        problem = exc.detail
    return {"invites": links, "invites_problem": problem}
