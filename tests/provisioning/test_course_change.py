"""A roster upload turned into a new course description, and what it changes for students."""

from __future__ import annotations

import pytest

from provisioning.courses.changes import roster_change, with_roster
from provisioning.courses.spec import parse_course
from provisioning.errors import CourseValidationError
from tests.provisioning.examples import lab_course, lecture_course


def test_roster_replaces_only_the_students() -> None:
    """Everything but the students stays; the students are exactly the CSV's rows."""
    old = parse_course(lab_course(groups=2))
    csv = b"name,github,group\nS,s-1-1,lab-01\nMover,s-1-2,lab-02\nNew,nora-n,lab-02\n"
    new = with_roster(old, csv)
    assert new.model_dump(exclude={"students"}) == old.model_dump(exclude={"students"})
    assert [(s.github, s.group) for s in new.students] == [
        ("s-1-1", "lab-01"),
        ("s-1-2", "lab-02"),
        ("nora-n", "lab-02"),
    ]
    change = roster_change(old, new)
    assert (change.added, change.removed, change.moved, change.total) == (1, 2, 1, 3)


def test_roster_rows_are_checked_against_the_course_groups() -> None:
    """A group the course does not have is reported by row and column."""
    with pytest.raises(CourseValidationError) as caught:
        with_roster(parse_course(lab_course(groups=2)), b"name,github,group\nS,s-x,lab-09\n")
    assert [p.path for p in caught.value.problems] == ["row 2, column group"]


def test_roster_is_validated_with_the_rest_of_the_course() -> None:
    """A student with a staff member's login is caught by the full description's checks."""
    with pytest.raises(CourseValidationError) as caught:
        with_roster(parse_course(lecture_course()), b"name,github\nAda Again,ADA\n")
    assert [p.path for p in caught.value.problems] == ["students[0].github"]
