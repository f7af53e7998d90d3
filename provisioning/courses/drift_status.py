"""The last reconcile of a course, for its status summary: when, how many steps it repaired,
and where its report is (`GET /courses/{id}/drift`).

Read from the reconcile's two audit events (started, reported) with one indexed query each,
cheap enough for every status poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from provisioning.courses.drift_report import REPORTED, STARTED, last_event


@dataclass(frozen=True)
class LastReconcile:
    """`finished_at` and the counts are None while the reconcile still runs."""

    started_at: datetime
    finished_at: datetime | None
    # Steps that found drift and repaired it, their writes, and steps that could not finish.
    repaired: int | None
    writes: int | None
    failed: int | None
    # Identifies the report (its audit event); part of the status version.
    event_id: int

    def report_path(self, course_id: str) -> str:
        return f"/courses/{course_id}/drift"


async def last_reconcile(session: AsyncSession, course_id: str) -> LastReconcile | None:
    """The course's last reconcile, or None when it was never reconciled."""
    started = await last_event(session, course_id, STARTED)
    if started is None:
        return None
    reported = await last_event(session, course_id, REPORTED, started.id)
    if reported is None:
        return LastReconcile(started.at, None, None, None, None, started.id)
    summary = reported.request_summary or {}
    return LastReconcile(
        started_at=started.at,
        finished_at=reported.at,
        repaired=int(summary.get("repaired", 0)),
        writes=int(summary.get("writes", 0)),
        failed=len(summary.get("failed") or []),
        event_id=reported.id,
    )
