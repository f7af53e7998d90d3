"""A change to an existing course seen before it is applied: what it adds, changes and removes,
per resource and per person, and whether it removes so much that it needs an explicit confirmation.

The same `ChangePreview` serves `POST /courses/{id}/preview`, the `/course roster` command and
the course page (`CourseService.preview`); `PUT /courses/{id}` (`CourseService.update`) checks
the same safety limit and refuses, unchanged, unless its `confirm_removals` names the number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from provisioning.courses.changes import CourseChangeRefusedError
from provisioning.courses.spec import CourseSpec
from provisioning.courses.update import PlanDiff

# What each removal step does, as people say it.
REMOVALS = {
    "github.uninvite": "team membership ended",
    "github.archive": "repository archived (read-only, kept)",
    "discord.hidden-channel": "channel hidden from students (kept for staff)",
    "discord.revoke-invite": "invite link revoked",
    "discord.member-unrole": "staff role taken back",
}


@dataclass(frozen=True)
class SafetyLimit:
    """When a change removes enough to need `confirm_removals`: more than `student_share` of
    the course's students dropped, or (with `confirm_archive`) any repository archived."""

    student_share: float = 0.10
    confirm_archive: bool = True


@dataclass(frozen=True)
class ResourceChange:
    """One resource (a step's key) the change adds, changes or removes; for a removal, what
    happens to it on the platform."""

    key: str
    kind: str
    change: Literal["added", "changed", "removed"]
    removal: str | None = None


@dataclass(frozen=True)
class PeopleChange:
    """The change in people and groups (GitHub logins; group names)."""

    students_added: list[str] = field(default_factory=list)
    students_dropped: list[str] = field(default_factory=list)
    students_moved: list[str] = field(default_factory=list)
    staff_added: list[str] = field(default_factory=list)
    staff_removed: list[str] = field(default_factory=list)
    groups_added: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChangePreview:
    """What applying a new description would do; nothing is stored by making one.

    `removals` counts the removal steps the change would start: the number `confirm_removals`
    must name when `confirmation_needed` (then `reasons` say why).
    """

    course_id: str
    resources: list[ResourceChange]
    people: PeopleChange
    removals: int
    repositories_archived: list[str]
    confirmation_needed: bool
    reasons: list[str]


class ConfirmationRequiredError(CourseChangeRefusedError):
    """A change over the safety limit, sent without (or with another) `confirm_removals`."""

    title = "Confirmation required"

    def __init__(self, preview: ChangePreview, confirm: int | None) -> None:
        sent = "" if confirm is None else f" (confirm_removals was {confirm})"
        super().__init__(
            preview.course_id,
            [r.key for r in preview.resources if r.change == "removed" and r.removal],
            f"this change makes {preview.removals} removal(s): {'; '.join(preview.reasons)}. "
            f"Nothing was changed{sent}: look at POST /courses/{preview.course_id}/preview, "
            f"then send the change again with confirm_removals: {preview.removals}.",
        )
        self.removals = preview.removals


def people_change(old: CourseSpec, new: CourseSpec) -> PeopleChange:
    """Who and which groups a new description adds, drops and moves."""
    before = {s.github.lower(): s.group for s in old.students}
    after = {s.github.lower(): s.group for s in new.students}
    staff_before = {(m.github.lower(), m.role) for m in old.staff}
    staff_after = {(m.github.lower(), m.role) for m in new.staff}
    return PeopleChange(
        students_added=sorted(after.keys() - before.keys()),
        students_dropped=sorted(before.keys() - after.keys()),
        students_moved=sorted(k for k in after.keys() & before.keys() if after[k] != before[k]),
        staff_added=sorted(f"{login} ({role})" for login, role in staff_after - staff_before),
        staff_removed=sorted(f"{login} ({role})" for login, role in staff_before - staff_after),
        groups_added=[g for g in new.groups if g not in old.groups],
        groups_removed=[g for g in old.groups if g not in new.groups],
    )


def preview_of(
    course_id: str, old: CourseSpec, new: CourseSpec, diff: PlanDiff, limit: SafetyLimit
) -> ChangePreview:
    """The preview of applying `new` to a course described by `old`, whose plan differs by
    `diff`."""
    return preview_with(course_id, people_change(old, new), len(old.students), diff, limit)


def preview_with(
    course_id: str, people: PeopleChange, old_students: int, diff: PlanDiff, limit: SafetyLimit
) -> ChangePreview:
    """`preview_of` with its people change computed already (with the plan, off the event loop:
    for 10,000 students it is a loop over each of them) and the old description's number of
    students."""
    resources = [ResourceChange(p.key, p.kind, "added") for p in diff.added]
    resources += [ResourceChange(p.key, p.kind, "changed") for p in diff.changed]
    for row in diff.removed:
        retired = diff.retiring.get(row.key)
        what = REMOVALS[retired.kind] if retired is not None else None
        if retired is not None and retired.params.get("leave_org"):
            what = f"{what}; leaves the organization (the course invited them)"
        resources.append(ResourceChange(row.key, row.kind, "removed", what))
    archived = [str(r.params["name"]) for r in diff.retiring.values() if r.kind == "github.archive"]
    # Only people something was provisioned for count: fixing a login nobody was invited
    # with is no removal.
    retired_logins = {
        str(row.params["login"]).lower()
        for row in diff.removed
        if row.key in diff.retiring and row.kind == "github.invite"
    }
    dropped = [login for login in people.students_dropped if login in retired_logins]
    reasons = []
    total = old_students
    if dropped and len(dropped) > limit.student_share * total:
        reasons.append(
            f"{len(dropped)} of {total} students dropped, over the limit of "
            f"{limit.student_share:.0%}"
        )
    if archived and limit.confirm_archive:
        reasons.append(f"{len(archived)} repositories archived ({', '.join(archived)})")
    return ChangePreview(
        course_id=course_id,
        resources=resources,
        people=people,
        removals=len(diff.retiring),
        repositories_archived=archived,
        confirmation_needed=bool(reasons),
        reasons=reasons,
    )


def check_confirmation(preview: ChangePreview, confirm: int | None) -> None:
    """Refuse a change over the limit unless `confirm` names its number of removals."""
    if preview.confirmation_needed and confirm != preview.removals:
        raise ConfirmationRequiredError(preview, confirm)
