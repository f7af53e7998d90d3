from __future__ import annotations

import time

import pytest

from provisioning.errors import CourseValidationError
from provisioning.roster import parse_roster


def problems_of(data: bytes, groups: list[str] | None = None) -> dict[str, str]:
    with pytest.raises(CourseValidationError) as info:
        parse_roster(data, groups=groups)
    return {p.path: p.message for p in info.value.problems}


def test_header_order_whitespace_bom_and_aliases() -> None:
    """Columns in any order, padded, with a BOM and common aliases, parse the same."""
    header = "\ufeff Group , GitHub Login ,Name,email\r\n"
    data = (header + "lab-01, bob-b ,Bob, bob@example.edu\n\n").encode()
    [bob] = parse_roster(data, groups=["lab-01"])
    assert (bob.name, bob.github, bob.group, bob.email) == (
        "Bob",
        "bob-b",
        "lab-01",
        "bob@example.edu",
    )


def test_semicolon_separated_exports() -> None:
    """Spreadsheets that export with semicolons are read too."""
    [bob] = parse_roster(b"name;github\nBob;bob-b\n")
    assert bob.github == "bob-b"


def test_errors_name_row_and_column() -> None:
    """Each bad cell is reported with its spreadsheet row and its column, all at once."""
    data = b"name,github,discord_id,group\nBob,-bad,,lab-01\n,carol,123,lab-02\nDan,dan,,lab-09\n"
    problems = problems_of(data, groups=["lab-01", "lab-02"])
    assert set(problems) == {
        "row 2, column github",
        "row 3, column name",
        "row 3, column discord_id",
        "row 4, column group",
    }
    assert problems["row 3, column name"] == "this cell is empty but required"


def test_duplicates_across_rows() -> None:
    """A login appearing twice (any case) names both rows."""
    problems = problems_of(b"name,github\nBob,bob-b\nBobby,BOB-B\n")
    assert problems == {"row 3, column github": "'bob-b' appears already in row 2"}


def test_header_problems() -> None:
    """Unknown, repeated and missing columns are reported before any row."""
    problems = problems_of(b"name,name,gh\nBob,Bob,bob\n")
    assert "unknown column 'gh'" in problems["row 1, column 3"]
    assert "twice" in problems["row 1, column 2"]
    assert "'github' is missing" in problems["row 1"]


def test_not_utf8_and_empty() -> None:
    """Latin-1 files and empty files get a message that says how to fix them."""
    assert "CSV UTF-8" in problems_of("name,github\nJosé,jose\n".encode("latin-1"))["roster"]
    assert "empty" in problems_of(b"")["roster"]


def test_too_many_cells() -> None:
    """A row with more cells than columns is refused (an unquoted comma, usually)."""
    assert "quote cells" in problems_of(b"name,github\nDoe, Jane,jane\n")["row 2"]


def test_large_roster_parses_quickly() -> None:
    """5,000 rows parse; the time is printed for the record, the target is in the bench."""
    rows = "".join(
        f"Student {i},student-{i},s{i}@example.edu,lab-{i % 10:02d}\n" for i in range(5000)
    )
    data = ("name,github,email,group\n" + rows).encode()
    started = time.perf_counter()
    students = parse_roster(data, groups=[f"lab-{i:02d}" for i in range(10)])
    assert len(students) == 5000
    print(f"5000 rows in {time.perf_counter() - started:.3f}s")
