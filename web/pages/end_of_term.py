"""End of term on the status page: Archive (or Unarchive) → a preview of what changes →
Confirm, a CSRF-protected form post. Admin only; the service does the work as a change of plan.
"""

from __future__ import annotations

from aiohttp import web

from provisioning.courses.change_preview import ResourceChange
from web.pages.course import visible_course
from web.pages.render import PREFIX, render
from web.params import course_id_param
from web.services import SERVICES
from web.session import Viewer

_ONLY_ADMIN = (
    "Archiving and unarchiving a course is for the admin role of the admin server (or a "
    "read-write API token); a course's own staff cannot end its term."
)
# What a changed step of each kind means at the end of term (`provisioning.courses.archive`).
_ARCHIVE_WORDS = {
    "github.repo": ("Archived: read-only, kept", "Writable again"),
    "discord.channel": ("Read-only for students", "Students may write again"),
}
_CHANGE_WORDS = {"added": "Made anew", "changed": "Changed", "removed": "Removed"}


def change_words(change: ResourceChange, archiving: bool) -> str:
    """One resource's change, as people say it."""
    if change.removal:
        return change.removal[:1].upper() + change.removal[1:]
    if change.change == "changed" and change.kind in _ARCHIVE_WORDS:
        return _ARCHIVE_WORDS[change.kind][0 if archiving else 1]
    return _CHANGE_WORDS[change.change]


def _admin(request: web.Request, course_id: str) -> Viewer:
    viewer = visible_course(request, course_id)
    if not viewer.may_archive:
        raise web.HTTPForbidden(text=_ONLY_ADMIN)
    return viewer


def _archiving(request: web.Request) -> bool:
    return request.match_info["action"] == "archive"


async def preview(request: web.Request) -> web.StreamResponse:
    course_id = course_id_param(request)
    _admin(request, course_id)
    courses = request.app[SERVICES].courses
    record = await courses.get(course_id)
    archiving = _archiving(request)
    if (record.archived_at is not None) == archiving:
        # Already as asked (a second tab, the back button): nothing to preview.
        raise web.HTTPSeeOther(f"{PREFIX}/courses/{course_id}")
    change = await courses.archive_preview(course_id, archived=archiving)
    context = {
        "record": record,
        "archiving": archiving,
        "change": change,
        "change_words": lambda r: change_words(r, archiving),
    }
    return await render(request, "end_of_term.html", context)


async def confirm(request: web.Request) -> web.StreamResponse:
    """The guard has checked the form's CSRF token; archiving twice changes nothing."""
    course_id = course_id_param(request)
    viewer = _admin(request, course_id)
    courses = request.app[SERVICES].courses
    actor = f"web:{viewer.name}"
    if _archiving(request):
        await courses.archive(course_id, actor=actor)
    else:
        await courses.unarchive(course_id, actor=actor)
    raise web.HTTPSeeOther(f"{PREFIX}/courses/{course_id}?{request.match_info['action']}=done")


def add_routes(app: web.Application) -> None:
    path = f"{PREFIX}/courses/{{course_id}}/{{action:archive|unarchive}}"
    app.router.add_get(path, preview)
    app.router.add_post(path, confirm)
