"""How a new roster differs from a course's students, person by person: what `/course roster`
shows before Confirm (added, removed, moved between groups, changed GitHub logins)."""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioning.courses.spec import CourseSpec, Student


@dataclass(frozen=True)
class Moved:
    student: Student
    old_group: str | None


@dataclass(frozen=True)
class Relogged:
    """The same person (same email, else same name) with another GitHub login."""

    student: Student
    old_login: str


@dataclass(frozen=True)
class RosterDiff:
    added: list[Student] = field(default_factory=list)
    removed: list[Student] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    relogged: list[Relogged] = field(default_factory=list)
    total: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.moved or self.relogged)


def _person(student: Student) -> str:
    return (student.email or student.name).strip().lower()


def roster_diff(old: CourseSpec, new: CourseSpec) -> RosterDiff:
    """Students compared by GitHub login (case-insensitively); a login that left and one that
    arrived for the same person (email, else name) are a changed login, not a drop and an add."""
    before = {s.github.lower(): s for s in old.students}
    after = {s.github.lower(): s for s in new.students}
    gone = [s for login, s in before.items() if login not in after]
    came = [s for login, s in after.items() if login not in before]
    by_person = {_person(s): s for s in gone}
    relogged: list[Relogged] = []
    added: list[Student] = []
    for student in came:
        previous = by_person.pop(_person(student), None)
        if previous is None:
            added.append(student)
        else:
            relogged.append(Relogged(student, previous.github))
    moved = [
        Moved(s, before[login].group)
        for login, s in after.items()
        if login in before and before[login].group != s.group
    ]
    return RosterDiff(added, list(by_person.values()), moved, relogged, len(after))
