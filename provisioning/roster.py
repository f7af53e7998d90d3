"""Roster import from CSV: header-driven, tolerant of layout, strict about content.

Rows are numbered as a spreadsheet shows them (the header is row 1), so an instructor can go
straight to the cell an error names.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from pydantic import ValidationError

from provisioning.courses.spec import Student
from provisioning.errors import CourseValidationError, FieldProblem

COLUMNS = ("name", "email", "github", "discord_id", "group")
REQUIRED = ("name", "github")
# Spreadsheet exports name columns in many ways; map the common ones onto ours.
ALIASES = {
    "github_login": "github",
    "github_username": "github",
    "discord": "discord_id",
    "discord_user_id": "discord_id",
    "lab_group": "group",
    "e-mail": "email",
    "mail": "email",
    "full_name": "name",
}
_DELIMITERS = (",", ";", "\t")


def parse_roster(data: bytes, *, groups: list[str] | None = None) -> list[Student]:
    """Parse a roster CSV; raise `CourseValidationError` listing every bad row and column.

    `groups`, when given, are the course's lab groups; a student's group must be one of them.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CourseValidationError(
            [
                FieldProblem(
                    "roster",
                    f"the file is not UTF-8 (byte {exc.start}); save it as "
                    "'CSV UTF-8' and upload it again",
                )
            ]
        ) from exc
    # The csv module's own line handling (only CR, LF, CRLF end a row): str.splitlines would
    # also cut a cell at U+2028, NEL or a form feed, and a bad name would be reported as two
    # rows instead of as the character the JSON path names.
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    if not first_line.strip():
        raise CourseValidationError(
            [
                FieldProblem(
                    "roster",
                    "the file is empty; the first line must name the columns, "
                    f"e.g. {','.join(COLUMNS)}",
                )
            ]
        )
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(first_line), skipinitialspace=True
    )
    header = next(reader)
    columns, problems = _columns(header)
    if problems:
        raise CourseValidationError(problems)
    parsed: list[tuple[int, Student]] = []
    for row_number, cells in _rows(reader):
        if not any(cell.strip() for cell in cells):
            continue
        student = _student(row_number, columns, cells, problems)
        if student is not None:
            parsed.append((row_number, student))
            _check_group(row_number, student, groups, problems)
    problems += _duplicate_problems(parsed)
    if problems:
        raise CourseValidationError(problems)
    return [student for _, student in parsed]


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header with their spreadsheet numbers.

    The csv module refuses a cell over 131,072 characters (its field size limit). No value of a
    roster is longer than 254 characters, so such a cell is always a mistake, most often a quote
    left open that swallowed the rest of the file: say so with its row, as for any other cell.
    """
    row_number = 1
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CourseValidationError(
                [
                    FieldProblem(
                        f"row {row_number}",
                        f"the file cannot be read from here on ({exc}): no roster value is "
                        'that long; look for a quote (") opened and never closed',
                    )
                ]
            ) from exc
        yield row_number, cells


def _delimiter(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count)


def _columns(header: list[str]) -> tuple[list[str], list[FieldProblem]]:
    names = [ALIASES.get(_norm(h), _norm(h)) for h in header]
    problems = []
    for index, name in enumerate(names, start=1):
        if name not in COLUMNS:
            problems.append(
                FieldProblem(
                    f"row 1, column {index}",
                    f"unknown column "
                    f"{header[index - 1].strip()!r}; the columns are "
                    f"{', '.join(COLUMNS)}",
                )
            )
        elif names.index(name) != index - 1:
            problems.append(
                FieldProblem(f"row 1, column {index}", f"column {name!r} appears twice; keep one")
            )
    problems += [
        FieldProblem("row 1", f"required column {name!r} is missing")
        for name in REQUIRED
        if name not in names
    ]
    return names, problems


def _student(
    row: int, columns: list[str], cells: list[str], problems: list[FieldProblem]
) -> Student | None:
    if len(cells) > len(columns):
        problems.append(
            FieldProblem(
                f"row {row}",
                f"{len(cells)} cells but {len(columns)} "
                "columns; quote cells that contain the separator",
            )
        )
        return None
    values = {
        col: (cells[i].strip() or None) if i < len(cells) else None for i, col in enumerate(columns)
    }
    try:
        return Student.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            column = str(error["loc"][0]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] in ("missing", "string_type") and values.get(column) is None:
                message = "this cell is empty but required"
            problems.append(FieldProblem(f"row {row}, column {column}", message))
        return None


def _check_group(
    row: int, student: Student, groups: list[str] | None, problems: list[FieldProblem]
) -> None:
    if groups is None:
        return
    if not groups and student.group is not None:
        problems.append(
            FieldProblem(
                f"row {row}, column group", "this course has no lab groups; leave the cell empty"
            )
        )
    elif groups and student.group is None:
        problems.append(
            FieldProblem(
                f"row {row}, column group", "every student of a laboratory course needs a lab group"
            )
        )
    elif groups and student.group not in groups:
        problems.append(
            FieldProblem(
                f"row {row}, column group",
                f"unknown lab group {student.group!r}; known groups: {', '.join(groups)}",
            )
        )


def _duplicate_problems(parsed: list[tuple[int, Student]]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for column in ("github", "discord_id", "email"):
        seen: dict[str, int] = {}
        for row, student in parsed:
            value = getattr(student, column)
            # GitHub logins and e-mail addresses are case-insensitive.
            value = value.lower() if isinstance(value, str) and column != "discord_id" else value
            if value is None:
                continue
            if value in seen:
                problems.append(
                    FieldProblem(
                        f"row {row}, column {column}",
                        f"{value!r} appears already in row {seen[value]}",
                    )
                )
            else:
                seen[value] = row
    return problems


def _norm(header: str) -> str:
    return header.strip().lower().replace(" ", "_")


def group_names(data: bytes) -> list[str]:
    """The lab groups named in a roster's group column, sorted (none if it cannot be read):
    a new laboratory course's groups, so that its rows can be checked against them."""
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        return []
    if not lines:
        return []
    reader = csv.reader(lines, delimiter=_delimiter(lines[0]), skipinitialspace=True)
    names = [ALIASES.get(_norm(h), _norm(h)) for h in next(reader)]
    if "group" not in names:
        return []
    at = names.index("group")
    return sorted({cells[at].strip() for cells in reader if len(cells) > at and cells[at].strip()})
