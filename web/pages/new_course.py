"""The new-course page: the API's fields as a form (staff as lines, the roster as CSV typed or
uploaded), every error next to its field with what was entered kept, a preview of the plan
before Confirm, and Confirm idempotent by the course's code and term."""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import defaultdict
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from provisioning.courses.preview import preview_course
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.errors import CourseConflictError, CourseValidationError, FieldProblem
from provisioning.roster import COLUMNS, parse_roster
from web.pages.render import PREFIX, VIEWER, render
from web.services import SERVICES

log = logging.getLogger(__name__)

NEW = f"{PREFIX}/courses/new"
FIELDS = ("code", "title", "term", "kind", "github_org", "student_permission", "groups")
STAFF_FORMAT = "role,name,github[,discord_id]"
_STUDENT_PATH = re.compile(r"^students\[(\d+)\]\.?(.*)$")
_STAFF_PATH = re.compile(r"^staff\[(\d+)\]\.?(.*)$")

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


def _may_create(request: web.Request) -> None:
    viewer = request[VIEWER]
    if not viewer.may_write or viewer.courses is not None:
        raise web.HTTPForbidden(
            text="Creating a course needs a read-write API token or the admin role of the "
            "admin server."
        )


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _roster_text(form: Form) -> str:
    """The roster as CSV text: an uploaded file replaces what the text box held."""
    upload = form.get("roster_file")
    if isinstance(upload, web.FileField):
        content = upload.file.read()
        if content:
            return content.decode("utf-8-sig", errors="replace").strip()
    return _text(form, "roster")


def _staff(lines: str, problems: list[FieldProblem]) -> list[dict[str, str]]:
    staff = []
    for number, cells in enumerate(csv.reader(lines.splitlines(), skipinitialspace=True), 1):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) not in (3, 4):
            problems.append(FieldProblem("staff", f"line {number}: write {STAFF_FORMAT}"))
            continue
        names = ("role", "name", "github", "discord_id")[: len(cells)]
        person = dict(zip(names, (c.strip() for c in cells), strict=True))
        if not person.get("discord_id"):
            person.pop("discord_id", None)
        staff.append(person)
    return staff


def _field_of(problem: FieldProblem) -> tuple[str, str]:
    """The form field a problem belongs to, and the message as the form shows it."""
    student = _STUDENT_PATH.match(problem.path)
    if student:
        row = int(student.group(1)) + 2  # the roster's header is row 1
        where = f", column {student.group(2)}" if student.group(2) else ""
        return "roster", f"row {row}{where}: {problem.message}"
    staff = _STAFF_PATH.match(problem.path)
    if staff:
        what = f" ({staff.group(2)})" if staff.group(2) else ""
        return "staff", f"line {int(staff.group(1)) + 1}{what}: {problem.message}"
    if problem.path.startswith("row ") or problem.path == "roster":
        prefix = "" if problem.path == "roster" else f"{problem.path}: "
        return "roster", prefix + problem.message
    name = problem.path.split("[", 1)[0].split(".", 1)[0]
    return (name if name in FIELDS or name == "staff" else "form"), problem.message


def read_form(form: Form) -> tuple[dict[str, str], dict[str, Any], list[FieldProblem]]:
    """What was entered (kept for the form), the course description made of it, and the
    problems found before the description itself is checked."""
    values = {name: _text(form, name) for name in FIELDS}
    values["staff"] = _text(form, "staff")
    values["roster"] = _roster_text(form)
    problems: list[FieldProblem] = []
    groups = [g for g in re.split(r"[\s,]+", values["groups"]) if g]
    data: dict[str, Any] = {name: values[name] for name in FIELDS if name != "groups"}
    data["groups"] = groups
    data["staff"] = _staff(values["staff"], problems)
    data["students"] = []
    if values["roster"]:
        try:
            students = parse_roster(values["roster"].encode(), groups=groups)
            data["students"] = [s.model_dump(exclude_none=True) for s in students]
        except CourseValidationError as exc:
            problems += exc.problems
    return values, data, problems


def values_of(spec: CourseSpec) -> dict[str, str]:
    """The form's values for a stored description (the preview's Change button)."""
    lines = [",".join(filter(None, (p.role, p.name, p.github, p.discord_id))) for p in spec.staff]
    rows = [",".join(COLUMNS)]
    for s in spec.students:
        cells = (s.name, s.email, s.github, s.discord_id, s.group)
        rows.append(",".join(_csv_cell(v) for v in cells))
    return {
        "code": spec.code,
        "title": spec.title,
        "term": spec.term,
        "kind": spec.kind,
        "github_org": spec.github_org,
        "student_permission": spec.student_permission,
        "groups": ", ".join(spec.groups),
        "staff": "\n".join(lines),
        "roster": "\n".join(rows) if spec.students else "",
    }


def _csv_cell(value: str | None) -> str:
    if value is None:
        return ""
    return f'"{value}"' if any(c in value for c in ',"\n') else value


async def _form_page(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, list[str]] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    return await render(
        request,
        "new_course.html",
        {
            "values": values,
            "errors": errors or {},
            "staff_format": STAFF_FORMAT,
            "columns": ",".join(COLUMNS),
        },
        status=status,
    )


async def new_course_page(request: web.Request) -> web.Response:
    _may_create(request)
    values = dict.fromkeys((*FIELDS, "staff", "roster"), "")
    values.update(kind="lecture", student_permission="push")
    return await _form_page(request, values)


async def preview(request: web.Request) -> web.Response:
    """POST: the form checked in full; with problems, the form again with each next to its
    field; without, what Confirm will create."""
    _may_create(request)
    form = await request.post()
    if _text(form, "action") == "edit":
        return await _form_page(request, values_of(parse_course(json.loads(_text(form, "spec")))))
    values, data, problems = read_form(form)
    try:
        spec = parse_course(data)
    except CourseValidationError as exc:
        problems += exc.problems
    if problems:
        errors: defaultdict[str, list[str]] = defaultdict(list)
        for problem in problems:
            field, message = _field_of(problem)
            errors[field].append(message)
        return await _form_page(request, values, dict(errors), status=422)
    return await render(
        request,
        "new_course_preview.html",
        {
            "spec": spec,
            "spec_json": spec.model_dump_json(),
            "preview": preview_course(
                spec,
                github_hourly=request.app[SERVICES].github_hourly(spec.github_org),
                org_invitations=await request.app[SERVICES].org_invitations(spec.github_org),
            ),
            "minutes": _duration,
        },
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        whole = max(1, round(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"


async def confirm(request: web.Request) -> web.StreamResponse:
    """POST: store the previewed course. A second Confirm (a double click, a reload) finds the
    course by its code and term and goes to it: one course, never two."""
    _may_create(request)
    form = await request.post()
    spec = parse_course(json.loads(_text(form, "spec") or "null"))
    viewer = request[VIEWER]
    try:
        record = await request.app[SERVICES].courses.create(spec, actor=f"web:{viewer.name}")
        course_id, created = record.id, "new"
    except CourseConflictError as exc:
        course_id, created = exc.course_id, "exists"
    raise web.HTTPSeeOther(f"{PREFIX}/courses/{course_id}?created={created}")


def add_routes(app: web.Application) -> None:
    app.router.add_get(NEW, new_course_page)
    app.router.add_post(NEW, preview)
    app.router.add_post(f"{NEW}/confirm", confirm)
