"""The course description: the single source for validation and for the API schema.

`parse_course` is the entry point for untrusted input. It reports every problem at once: the
field-level problems pydantic finds, plus the checks across fields (duplicates, unknown groups,
platform limits), which run on the raw input so they are not hidden by an unrelated typo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from provisioning import limits
from provisioning.errors import CourseValidationError, FieldProblem

CourseKind = Literal["lecture", "laboratory"]
StaffRole = Literal["instructor", "ta"]
StudentPermission = Literal["read", "triage", "push"]

# GitHub: 1-39 characters, alphanumerics and single hyphens, not at either end.
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# 17-19 digits: ids of today are 18-19 digits; 20 digits would exceed 64 bits for decades.
_SNOWFLAKE = re.compile(r"^[1-9][0-9]{16,18}$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
_TERM = re.compile(r"^(20[0-9]{2})-(spring|summer|fall|winter)$")
_GROUP = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,31}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _github_login(value: str) -> str:
    if not _GITHUB_LOGIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid GitHub login: use 1-39 letters, digits or single "
            "hyphens, not starting or ending with a hyphen"
        )
    return value


def _snowflake(value: str | None) -> str | None:
    if value is None:
        return None
    if not _SNOWFLAKE.match(value):
        raise ValueError(
            f"{value!r} is not a Discord user id: copy the 17-19 digit id from Discord "
            "(User Settings > Advanced > Developer Mode, then right-click the user > Copy User ID)"
        )
    return value


def _code(value: str) -> str:
    if not _CODE.match(value):
        raise ValueError(
            f"{value!r} is not a course code: use 2-12 capital letters and digits "
            "starting with a letter, e.g. CS101"
        )
    return value


def _term(value: str) -> str:
    if not _TERM.match(value):
        raise ValueError(
            f"{value!r} is not a term: use YEAR-SEASON with season spring, summer, fall or "
            "winter, e.g. 2027-spring"
        )
    return value


# Names the plan uses for the course's own resources (teams, roles, channels, invites):
# a lab group of the same name would give two steps one key.
RESERVED_GROUP_NAMES = frozenset(
    {
        "lecture",
        "instructors",
        "tas",
        "students",
        "instructor",
        "ta",
        "student",
        "course",
        "announcements",
        "general",
        "lectures",
        "qa-help",
    }
)


def _group(value: str) -> str:
    if value in RESERVED_GROUP_NAMES:
        raise ValueError(
            f"{value!r} is reserved for the course's own teams, roles and channels: name lab "
            "groups like lab-01"
        )
    if not _GROUP.match(value):
        raise ValueError(
            f"{value!r} is not a lab group name: use 1-32 lowercase letters, digits or single "
            "hyphens, e.g. lab-01"
        )
    return value


def _email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address, e.g. bob@example.edu")
    return value


# Characters that change how a name is shown instead of being part of it: they would reach
# Discord role names, GitHub team names and e-mail headers. Tabs and line breaks count too: a
# name or title is one line. Bidi overrides (U+202E) make a name read differently than it is
# stored; NUL cannot be stored by PostgreSQL. The JSON path and the CSV path share this rule.
_BIDI_CONTROLS = frozenset(
    [
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    ]
)


_CONTROL_NAMES = {
    "\x00": "NUL",
    "\x07": "BEL",
    "\x1b": "ESC",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a line break",
}


def _control_character(value: str) -> str | None:
    for char in value:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            return char
    return None


def _plain_text(value: str) -> str:
    char = _control_character(value)
    if char is not None:
        label = _CONTROL_NAMES.get(char) or unicodedata.name(char, "a control character")
        raise ValueError(
            f"contains the invisible character U+{ord(char):04X} ({label}); "
            "retype the text without it on one line"
        )
    return value


def _optional_plain_text(value: str | None) -> str | None:
    return None if value is None else _plain_text(value)


def _pattern(regex: re.Pattern[str]) -> Any:
    # The rule is shown in the JSON schema, but checked by our validators, whose messages say
    # how to fix the value (pydantic's own pattern error only repeats the regex).
    return Field(json_schema_extra={"pattern": regex.pattern})


GitHubLogin = Annotated[str, AfterValidator(_github_login), _pattern(_GITHUB_LOGIN)]
DiscordId = Annotated[
    str | None, AfterValidator(_snowflake), Field(json_schema_extra={"pattern": _SNOWFLAKE.pattern})
]
PersonName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_plain_text)]
Email = Annotated[
    str | None,
    Field(default=None, max_length=254),
    AfterValidator(_optional_plain_text),
    AfterValidator(_email),
]
GroupName = Annotated[str, AfterValidator(_group), _pattern(_GROUP)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class StaffMember(_Strict):
    """An instructor or teaching assistant."""

    role: StaffRole
    name: PersonName
    # Where the personal join link goes (staff join like students, with staff roles).
    email: Email = None
    github: GitHubLogin
    discord_id: DiscordId = None


class Student(_Strict):
    """A student; `group` is required in a laboratory course and absent in a lecture."""

    name: PersonName
    email: Email = None
    github: GitHubLogin
    discord_id: DiscordId = None
    group: GroupName | None = None


class CourseSpec(_Strict):
    """Everything the product needs to provision one course for one term."""

    code: Annotated[str, AfterValidator(_code), _pattern(_CODE)] = Field(examples=["CS101"])
    title: Annotated[
        str, Field(min_length=1, max_length=limits.TITLE_MAX), AfterValidator(_plain_text)
    ]
    term: Annotated[str, AfterValidator(_term), _pattern(_TERM)] = Field(examples=["2027-spring"])
    kind: CourseKind
    github_org: GitHubLogin
    staff: Annotated[list[StaffMember], Field(min_length=1, max_length=limits.STAFF_MAX)]
    groups: Annotated[list[GroupName], Field(max_length=limits.GROUPS_MAX)] = []
    students: Annotated[list[Student], Field(max_length=limits.STUDENTS_MAX)] = []
    student_permission: StudentPermission = "push"


def parse_course(data: object) -> CourseSpec:
    """Validate untrusted input into a `CourseSpec`, or raise with every problem found."""
    problems: list[FieldProblem] = []
    spec: CourseSpec | None = None
    try:
        spec = CourseSpec.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc))
    problems.extend(cross_field_problems(data))
    if problems:
        raise CourseValidationError(_unique(problems))
    assert spec is not None
    return spec


def problems_from_pydantic(exc: ValidationError) -> list[FieldProblem]:
    """Turn pydantic's errors into field problems with readable paths and messages."""
    out = []
    for error in exc.errors(include_url=False):
        path = format_path(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown field; remove it or check its spelling"
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        out.append(FieldProblem(path or "(body)", message))
    return out


def format_path(loc: tuple[int | str, ...]) -> str:
    """`("students", 3, "github")` → `students[3].github`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def cross_field_problems(data: object) -> list[FieldProblem]:
    """Checks across fields, on raw input, so they run even when some fields are invalid."""
    if not isinstance(data, dict):
        return []
    problems: list[FieldProblem] = []
    kind = data.get("kind")
    groups = [g.strip() for g in _list(data.get("groups")) if isinstance(g, str)]
    problems += _duplicates("groups", ((f"groups[{i}]", g) for i, g in enumerate(groups)))
    if kind == "lecture" and groups:
        problems.append(
            FieldProblem(
                "groups", "a lecture course has no lab groups; remove them or use kind laboratory"
            )
        )
    if kind == "laboratory" and not groups:
        problems.append(FieldProblem("groups", "a laboratory course needs at least one lab group"))
    problems += _limit_problems(kind, len(groups))
    problems += _people_problems(data, kind, set(groups))
    if not any(_field(s, "role") == "instructor" for s in _list(data.get("staff"))):
        problems.append(FieldProblem("staff", "at least one staff member must be an instructor"))
    name_length = limits.guild_name_length(data.get("code"), data.get("title"), data.get("term"))
    if name_length > limits.GUILD_NAME_MAX:
        problems.append(
            FieldProblem(
                "title",
                f"the server name 'CODE · TITLE · TERM' would be {name_length} characters; "
                f"Discord allows {limits.GUILD_NAME_MAX}: shorten the title",
            )
        )
    return problems


def _people_problems(data: dict[str, Any], kind: object, groups: set[str]) -> list[FieldProblem]:
    people = [(f"staff[{i}]", p) for i, p in enumerate(_list(data.get("staff")))]
    students = [(f"students[{i}]", p) for i, p in enumerate(_list(data.get("students")))]
    people += students
    problems = _duplicates(
        "github",
        ((f"{path}.github", _lower(_field(p, "github"))) for path, p in people),
        what="GitHub login (logins are case-insensitive)",
    )
    problems += _duplicates(
        "discord_id",
        ((f"{path}.discord_id", _field(p, "discord_id")) for path, p in people),
        what="Discord id",
    )
    problems += _duplicates(
        "email",
        ((f"{path}.email", _lower(_field(p, "email"))) for path, p in people),
        what="e-mail address",
    )
    for path, student in students:
        group = _field(student, "group")
        if kind == "laboratory" and group is None:
            problems.append(
                FieldProblem(
                    f"{path}.group", "every student of a laboratory course needs a lab group"
                )
            )
        elif kind == "lecture" and group is not None:
            problems.append(
                FieldProblem(
                    f"{path}.group", "a lecture course has no lab groups; remove the group"
                )
            )
        elif kind == "laboratory" and isinstance(group, str) and group not in groups:
            known = ", ".join(sorted(groups)) or "none"
            problems.append(
                FieldProblem(f"{path}.group", f"unknown lab group {group!r}; known groups: {known}")
            )
    return problems


def _limit_problems(kind: object, group_count: int) -> list[FieldProblem]:
    if kind != "laboratory":
        return []
    problems = []
    roles = limits.roles_needed(group_count)
    if roles > limits.DISCORD_ROLES_MAX:
        problems.append(
            FieldProblem(
                "groups",
                f"{group_count} groups need {roles} Discord roles; "
                f"a server has at most {limits.DISCORD_ROLES_MAX}: split "
                "the course or use fewer groups",
            )
        )
    channels = limits.channels_needed(group_count)
    if channels > limits.DISCORD_CHANNELS_MAX:
        problems.append(
            FieldProblem(
                "groups",
                f"{group_count} groups need {channels} Discord "
                f"channels; a server has at most "
                f"{limits.DISCORD_CHANNELS_MAX}: use fewer groups",
            )
        )
    return problems


def _duplicates(
    _field_name: str, items: Iterator[tuple[str, object]], what: str = "value"
) -> list[FieldProblem]:
    first: dict[object, str] = {}
    problems = []
    for path, value in items:
        if value is None or not isinstance(value, str | int):
            continue
        if value in first:
            problems.append(
                FieldProblem(
                    path,
                    f"duplicate {what} {value!r}, first used at "
                    f"{first[value]}; each must appear once",
                )
            )
        else:
            first[value] = path
    return problems


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _field(item: object, name: str) -> object:
    """A field of a raw list item, stripped as the model will strip it."""
    value = item.get(name) if isinstance(item, dict) else None
    return value.strip() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _unique(problems: list[FieldProblem]) -> list[FieldProblem]:
    return list(dict.fromkeys(problems))
