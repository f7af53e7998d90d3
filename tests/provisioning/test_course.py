from __future__ import annotations

from typing import Any

import pytest

from provisioning.courses.spec import parse_course
from provisioning.errors import CourseValidationError
from tests.provisioning.examples import lab_course, lecture_course


def problems_of(data: Any) -> dict[str, str]:
    with pytest.raises(CourseValidationError) as info:
        parse_course(data)
    return {p.path: p.message for p in info.value.problems}


def test_valid_courses_parse() -> None:
    """The example lecture and laboratory courses are accepted as they are."""
    assert parse_course(lecture_course()).kind == "lecture"
    assert len(parse_course(lab_course()).groups) == 3


@pytest.mark.parametrize("login", ["-bob", "bob-", "bo--b", "b" * 40, "bob_b", "bób", ""])
def test_invalid_github_logins_are_named(login: str) -> None:
    """Logins GitHub would refuse are reported at the student's github field."""
    data = lecture_course()
    data["students"][0]["github"] = login
    assert "students[0].github" in problems_of(data)


@pytest.mark.parametrize("login", ["a", "bob-b", "A1-b2-c3", "b" * 39])
def test_valid_github_logins_pass(login: str) -> None:
    """Single inner hyphens, mixed case and 39 characters are valid logins."""
    data = lecture_course()
    data["students"][0]["github"] = login
    assert parse_course(data).students[0].github == login


@pytest.mark.parametrize("snowflake", ["123", "abc", "99999999999999999999", "-80351110224678912"])
def test_invalid_discord_ids(snowflake: str) -> None:
    """Discord ids must be snowflakes: 17-20 digits within 64 bits."""
    data = lecture_course()
    data["students"][0]["discord_id"] = snowflake
    assert "students[0].discord_id" in problems_of(data)


def test_duplicate_logins_are_case_insensitive() -> None:
    """`ADA` as a student duplicates the instructor `ada`."""
    data = lecture_course()
    data["students"][1]["github"] = "ADA"
    assert "first used at staff[0].github" in problems_of(data)["students[1].github"]


def test_duplicate_discord_ids_and_emails() -> None:
    """A Discord id or e-mail address used twice is reported at its second use."""
    data = lecture_course()
    data["students"][2]["discord_id"] = data["students"][1]["discord_id"]
    data["students"][2]["email"] = "BOB@example.edu"
    problems = problems_of(data)
    assert "students[2].discord_id" in problems
    assert "students[2].email" in problems


def test_lab_rules() -> None:
    """Students of a lab need a known group; a lecture has no groups at all."""
    lab = lab_course()
    lab["students"][0]["group"] = "lab-99"
    del lab["students"][1]["group"]
    problems = problems_of(lab)
    assert "unknown lab group 'lab-99'" in problems["students[0].group"]
    assert "needs a lab group" in problems["students[1].group"]
    lecture = lecture_course()
    lecture["groups"] = ["lab-01"]
    assert "groups" in problems_of(lecture)


def test_group_limits_follow_discord() -> None:
    """More groups than a Discord server has roles for is refused with the numbers."""
    data = lab_course(groups=246)
    message = problems_of(data)["groups"]
    assert "251 Discord roles" in message
    assert parse_course(lab_course(groups=245))


def test_every_problem_is_reported_at_once() -> None:
    """Type errors, unknown fields and cross-field problems come back together."""
    data = lecture_course()
    data["kind"] = "seminar"
    data["surprise"] = 1
    data["students"][0]["github"] = "-x"
    data["students"][1]["github"] = "ADA"
    data["title"] = "x" * 99
    problems = problems_of(data)
    assert {"kind", "surprise", "students[0].github", "students[1].github", "title"} <= set(
        problems
    )
    assert problems["surprise"].startswith("unknown field")


def test_wrong_shapes_do_not_crash() -> None:
    """Non-objects and wrong types produce problems, never exceptions of another kind."""
    assert problems_of([]) == {
        "(body)": "Input should be a valid dictionary or instance of CourseSpec"
    }
    assert "staff" in problems_of({**lecture_course(), "staff": "ada"})
    assert "students[0]" in problems_of({**lecture_course(), "students": [1]})


def test_at_least_one_instructor() -> None:
    """A course without an instructor is refused."""
    data = lecture_course()
    data["staff"] = [data["staff"][1]]
    assert "instructor" in problems_of(data)["staff"]


@pytest.mark.parametrize("group", ["students", "lecture", "general", "instructor", "tas"])
def test_group_names_of_the_course_own_resources_are_refused(group: str) -> None:
    """A lab group named like a course-wide team, role or channel would collide in the plan."""
    data = lab_course()
    data["groups"][0] = group
    for student in data["students"]:
        if student["group"] == "lab-01":
            student["group"] = group
    assert "reserved" in problems_of(data)["groups[0]"]


def test_padded_values_are_compared_as_stored() -> None:
    """Surrounding spaces are stripped before duplicates and group membership are checked."""
    data = lab_course()
    data["groups"].append(" lab-01 ")
    data["students"][1]["discord_id"] = "80351110224678912 "
    problems = problems_of(data)
    assert "groups[3]" in problems
    assert "first used at staff[0].discord_id" in problems["students[1].discord_id"]
    padded = lab_course()
    padded["students"][0]["group"] = " lab-01"
    assert parse_course(padded).students[0].group == "lab-01"
