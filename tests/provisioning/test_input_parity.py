"""The roster CSV path and the JSON path accept exactly the same names, e-mails and titles."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from provisioning.courses.spec import parse_course
from provisioning.errors import CourseValidationError
from provisioning.roster import parse_roster
from tests.provisioning.examples import lecture_course

# Values a spreadsheet or a script may send; the first ones are fine, the rest must be refused.
GOOD_NAMES = ["Zoë Ngô", "محمد‌علی", "李小龍", "O'Brien, Jr."]
BAD_NAMES = {
    "Bo\x00b": "U+0000 (NUL)",
    "Bo\x1b[31mb": "U+001B (ESC)",
    "Bo\x07b": "U+0007 (BEL)",
    "Bo\rb": "U+000D (a line break)",
    "Bo\nb": "U+000A (a line break)",
    "Bo\tb": "U+0009 (a tab)",
    "Bob\u202egnp.exe": "U+202E (RIGHT-TO-LEFT OVERRIDE)",
    "Bo\u2028b": "U+2028 (LINE SEPARATOR)",
    "Bo\x85b": "U+0085",
}


def _csv(name: str, email: str = "bob@example.edu") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([["name", "email", "github"], [name, email, "bob-b"]])
    return out.getvalue().encode()


def _json(name: str, email: str = "bob@example.edu") -> dict[str, Any]:
    course = lecture_course()
    course["students"] = [{"name": name, "email": email, "github": "bob-b"}]
    return course


def _csv_problems(data: bytes) -> dict[str, str]:
    try:
        parse_roster(data)
    except CourseValidationError as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


def _json_problems(course: dict[str, Any]) -> dict[str, str]:
    try:
        parse_course(course)
    except CourseValidationError as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_both_paths_accept_the_same_names(name: str) -> None:
    """Names in any script, with joiners and punctuation, pass both paths unchanged."""
    [student] = parse_roster(_csv(name))
    assert student.name == name
    assert parse_course(_json(name)).students[0].name == name


@pytest.mark.parametrize("name", sorted(BAD_NAMES))
def test_both_paths_refuse_control_characters_in_names(name: str) -> None:
    """NUL, ESC, BEL, line breaks, tabs and bidi overrides are refused by CSV and JSON alike,
    each naming the character and its place."""
    csv_problems = _csv_problems(_csv(name))
    json_problems = _json_problems(_json(name))
    assert list(csv_problems) == ["row 2, column name"]
    assert list(json_problems) == ["students[0].name"]
    assert BAD_NAMES[name] in csv_problems["row 2, column name"]
    assert csv_problems["row 2, column name"] == json_problems["students[0].name"]


def test_both_paths_refuse_control_characters_in_emails() -> None:
    """An e-mail address with a line break (a header injection) is refused on both paths."""
    email = "bob@example.edu\r\nBcc: all@example.edu"
    assert "a line break" in _csv_problems(_csv("Bob", email))["row 2, column email"]
    assert "a line break" in _json_problems(_json("Bob", email))["students[0].email"]


def test_titles_and_staff_names_refuse_control_characters() -> None:
    """A course title and a staff name are one line of visible text, as student names are."""
    course = lecture_course()
    course["title"] = "Intro\x1b]8;;http://evil\x07"
    course["staff"][0]["name"] = "Ada\u202eecalevoL"
    problems = _json_problems(course)
    assert "U+001B (ESC)" in problems["title"]
    assert "U+202E" in problems["staff[0].name"]


def test_surrounding_whitespace_is_stripped_the_same_way() -> None:
    """Trailing blanks and line separators around a cell are trimmed on both paths alike."""
    name = " Bob \u2028"
    [student] = parse_roster(_csv(name))
    assert student.name == parse_course(_json(name)).students[0].name == "Bob"


def test_a_cell_over_the_csv_field_limit_is_a_clear_problem() -> None:
    """A cell over 131,072 characters (an unclosed quote, usually) is a problem naming its row,
    not an internal error; the same value in JSON is refused too."""
    long_name = "x" * 140_000
    problems = _csv_problems(b'name,github\nBob,bob-b\n"Carol,carol\n' + long_name.encode())
    assert list(problems) == ["row 3"]
    assert "quote" in problems["row 3"]
    problems = _csv_problems(_csv(long_name))
    assert list(problems) == ["row 2"]
    assert "at most 100 characters" in _json_problems(_json(long_name))["students[0].name"]


def test_a_nul_inside_a_name_never_reaches_the_database() -> None:
    """A NUL passed the CSV path before (PostgreSQL cannot store it): now both refuse it."""
    assert _csv_problems(b"name,github\nBo\x00b,bob-b\n")
    assert _json_problems(_json("Bo\x00b"))
