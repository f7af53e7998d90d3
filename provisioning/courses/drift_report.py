"""The drift report: what a course's reconcile found changed by hand and repaired, read from the
audit log (`reconcile` explains how).

A reconcile is two audit events, `STARTED` and (once its steps settled) `REPORTED`, whose
summary holds the findings. Every write a course's step made after `STARTED` is a repair; for
a recorded report (`recorded_report`) the writes before its `REPORTED` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent
from provisioning.courses.drift_findings import Finding

STARTED = "course.reconcile_started"
REPORTED = "course.drift_reported"
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


async def last_event(
    session: AsyncSession, course_id: str, event: str, after_id: int = 0
) -> Row[tuple[int, datetime, dict[str, Any] | None]] | None:
    """The course's newest audit event of this kind (after `after_id`): its id, time and
    summary. One walk of the (course_id, event, id) index."""
    return (
        await session.execute(
            select(AuditEvent.id, AuditEvent.at, AuditEvent.request_summary)
            .where(
                AuditEvent.course_id == course_id,
                AuditEvent.event == event,
                AuditEvent.id > after_id,
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).first()


@dataclass(frozen=True)
class Repair:
    """One write a re-verifying step made: something differed from the description."""

    step_key: str
    method: str
    path: str
    status: int | None
    at: datetime
    # The audit row of the write, and (once the reconcile finished) what it means.
    audit_id: int = 0
    finding: Finding | None = None


@dataclass(frozen=True)
class DriftReport:
    """What the course's last reconcile found changed by hand and repaired.

    `started_at` is None when the course was never reconciled. `finished` once none of its
    steps waits to run; until then `repairs` grows. `drifted`: the steps that had to repair
    (in the order of their first write); `failed`: steps that could not (see the status).
    """

    course_id: str
    started_at: datetime | None
    finished: bool
    checked: int
    drifted: list[str]
    repairs: list[Repair]
    failed: list[str]
    # The audit event the finished report was recorded as (None until then).
    reported_id: int | None = None


async def repairs_since(
    session: AsyncSession,
    course_id: str,
    started_id: int,
    findings: dict[str, Any],
    before_id: int | None = None,
) -> list[Repair]:
    """The writes the course's steps made after the audit event `started_id` (and before
    `before_id`), each with its finding when `findings` (by audit id) has one."""
    query = (
        select(
            AuditEvent.id,
            AuditEvent.step_key,
            AuditEvent.method,
            AuditEvent.path,
            AuditEvent.status,
            AuditEvent.at,
        )
        .where(
            AuditEvent.course_id == course_id,
            AuditEvent.id > started_id,
            AuditEvent.kind == "http",
            AuditEvent.method.in_(_WRITES),
            # A step's writes only: the course log's messages are not repairs.
            AuditEvent.step_key.is_not(None),
        )
        .order_by(AuditEvent.id)
    )
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return [
        Repair(
            str(k),
            str(m),
            str(p),
            s,
            at,
            audit_id=i,
            finding=Finding.from_json(findings[str(i)]) if str(i) in findings else None,
        )
        for i, k, m, p, s, at in (await session.execute(query)).all()
    ]


async def recorded_report(
    session: AsyncSession, course_id: str, started_id: int, reported_id: int
) -> DriftReport | None:
    """The report a reconcile recorded, as it was then (its steps that could not finish from
    the record, not from the steps now); None if either event is not the course's."""
    events = {
        row.id: row
        for row in (
            await session.execute(
                select(AuditEvent.id, AuditEvent.at, AuditEvent.request_summary).where(
                    AuditEvent.id.in_((started_id, reported_id)),
                    AuditEvent.course_id == course_id,
                    AuditEvent.event.in_((STARTED, REPORTED)),
                )
            )
        ).all()
    }
    if started_id not in events or reported_id not in events:
        return None
    started, reported = events[started_id], events[reported_id]
    summary = reported.request_summary or {}
    repairs = await repairs_since(
        session, course_id, started_id, summary.get("findings") or {}, before_id=reported_id
    )
    return DriftReport(
        course_id=course_id,
        started_at=started.at,
        finished=True,
        checked=int((started.request_summary or {}).get("steps", 0)),
        drifted=list(dict.fromkeys(r.step_key for r in repairs)),
        repairs=repairs,
        failed=[str(key) for key in summary.get("failed") or []],
        reported_id=reported_id,
    )
