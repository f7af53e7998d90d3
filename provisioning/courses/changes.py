"""Why a course change can be refused, and a roster upload turned into a new description."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.errors import ProvisioningError
from provisioning.roster import parse_roster

_SHOWN_KEYS = 10


class CourseChangeRefusedError(ProvisioningError):
    """A course update was refused as a whole; `step_keys` are the steps that stand in its way."""

    status = 409
    title = "Course change refused"

    def __init__(self, course_id: str, step_keys: Sequence[str], detail: str) -> None:
        super().__init__(detail)
        self.course_id = course_id
        self.step_keys = list(step_keys)


def _listed(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    more = len(keys) - _SHOWN_KEYS
    return shown + (f" and {more} more" if more > 0 else "")


class CourseDeleteRefusedError(CourseChangeRefusedError):
    """A course that made something on GitHub or Discord is never deleted: it is archived."""

    title = "Course not deleted"

    def __init__(self, course_id: str, step_keys: Sequence[str]) -> None:
        super().__init__(
            course_id,
            step_keys,
            f"the course has {len(step_keys)} resource(s) on GitHub or Discord already "
            f"({_listed(step_keys)}); a course is deleted only before anything was made for "
            f"it, so nobody's work goes with it. Archive it instead (POST /courses/{course_id}"
            "/archive: repositories read-only, students' write access on Discord removed), or "
            "change it with PUT /courses/{id}.",
        )


class CourseArchivedError(CourseChangeRefusedError):
    """An archived course is not changed: it is unarchived first."""

    title = "Course archived"

    def __init__(self, course_id: str) -> None:
        super().__init__(
            course_id,
            [],
            "the course is archived; nothing was changed: unarchive it first "
            f"(POST /courses/{course_id}/unarchive), then change it",
        )


class StepsRunningError(CourseChangeRefusedError):
    """The change touches steps a runner is executing right now."""

    title = "Steps running"

    def __init__(self, course_id: str, step_keys: Sequence[str]) -> None:
        super().__init__(
            course_id,
            step_keys,
            f"the change touches {len(step_keys)} step(s) running right now "
            f"({_listed(step_keys)}); nothing was changed: send it again in a minute.",
        )


def with_roster(spec: CourseSpec, data: bytes) -> CourseSpec:
    """`spec` with its students replaced by a roster CSV, validated in full again."""
    students = parse_roster(data, groups=list(spec.groups))
    document = spec.model_dump(mode="json")
    document["students"] = [s.model_dump(mode="json") for s in students]
    return parse_course(document)


@dataclass(frozen=True)
class RosterChange:
    """How the students of a new description differ from the old one (logins compared
    case-insensitively): added, removed, moved to another lab group, and the new total."""

    added: int
    removed: int
    moved: int
    total: int


def roster_change(old: CourseSpec, new: CourseSpec) -> RosterChange:
    before = {s.github.lower(): s.group for s in old.students}
    after = {s.github.lower(): s.group for s in new.students}
    return RosterChange(
        added=len(after.keys() - before.keys()),
        removed=len(before.keys() - after.keys()),
        moved=sum(
            1 for login, group in after.items() if login in before and before[login] != group
        ),
        total=len(after),
    )
