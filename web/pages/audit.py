"""The audit page: a course's audit rows newest first, filtered by step and status, with the
result of walking the hash chain."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from web.pages.course import visible_course
from web.pages.render import PREFIX, render
from web.params import course_id_param
from web.services import SERVICES

PAGE_SIZE = 50


def _before(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 19 else None


async def audit_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    record = await services.courses.get(course_id_param(request))
    visible_course(request, record.id)
    step = request.query.get("step") or None
    errors_only = request.query.get("status") == "errors"
    view = await services.audit.newest(
        record.id,
        before=_before(request.query.get("before")),
        limit=PAGE_SIZE,
        step_key=step,
        errors_only=errors_only,
    )
    chain = await services.audit.verify()
    older = None
    if view.before is not None:
        query = {"step": step or "", "status": "errors" if errors_only else ""}
        older = f"{PREFIX}/courses/{record.id}/audit?" + urlencode(
            {k: v for k, v in query.items() if v} | {"before": str(view.before)}
        )
    rows = [{**row, "at": datetime.fromisoformat(row["at"])} for row in view.rows]
    return await render(
        request,
        "audit.html",
        {
            "record": record,
            "rows": rows,
            "step_keys": view.step_keys,
            "step": step or "",
            "errors_only": errors_only,
            "chain": chain,
            "older_url": older,
            "first": "before" in request.query,
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/courses/{{course_id}}/audit", audit_page)
