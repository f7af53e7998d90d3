"""Drift: the scheduled re-verification of active courses, and what it found.

The course description is the truth. A reconcile sends every finished step of one active
(not archived) course back to pending, so its executor checks what it made against the
description and repairs what differs: a role or team membership removed by hand comes back, an
expired invite link or GitHub invitation is made again. A step that finds nothing wrong writes
nothing, so every write a reconcile causes is drift it repaired, and the HTTP audit rows
already record each one (which call, for which step, with what answer). The drift report is
read from them: the writes of the course's steps since its last reconcile started. When the
course's steps have settled, each write is explained (`drift_explain`: the resource, what
differed, what was repaired, and who changed it and when, from Discord's audit log; GitHub has
none) and the report's summary with those findings is appended to the audit log, where the
report reads them back (`drift_report`); a report that repaired something gets its course log
message stored in the same transaction (`drift_notices`).

One course at a time (`run_once`), the course reconciled longest ago first, so a reconcile of
all courses stays within the platforms' rate limits; `run_round` goes through every active
course that way. The schedule is the caller's (APScheduler in `bot/app.py`,
`RECONCILE_INTERVAL_S`, jittered).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import AuditEvent, Course, Step
from provisioning import audit_context
from provisioning.clock import Clock
from provisioning.courses.changes import CourseArchivedError
from provisioning.courses.drift_explain import explain
from provisioning.courses.drift_findings import Finding, Write
from provisioning.courses.drift_notices import add_drift_message
from provisioning.courses.drift_report import (
    REPORTED,
    STARTED,
    DriftReport,
    Repair,
    last_event,
    repairs_since,
)
from provisioning.courses.update import lock_course
from provisioning.discord.gateway import DiscordGateway
from provisioning.errors import CourseNotFoundError

log = logging.getLogger(__name__)

ACTOR = "reconcile"
_UNSETTLED = ("pending", "running")
_KEYS_MAX = 50
# Writes explained per reconcile (each may cost one audit-log read); the rest stay unexplained.
_FINDINGS_MAX = 200
SERVER_STEP = "discord.server"


def _sent(summary: Any) -> dict[str, Any] | None:
    """The JSON body a write sent, as its audit row summarises it."""
    body = summary.get("body") if isinstance(summary, dict) else None
    return body if isinstance(body, dict) else None


class ReconcileService:
    """Starts reconciles, reports drift. Every public method is one unit of work."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        on_change: Callable[[], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        discord: DiscordGateway | None = None,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._on_change = on_change
        self._sleep = sleep
        # Reads the guild's audit log to name who changed what (None: nobody is named).
        self._discord = discord

    async def start(self, course_id: str, actor: str = ACTOR) -> int:
        """Send the course's finished steps back to pending, to be verified and repaired; the
        number of steps. An archived course is left alone (`CourseArchivedError`)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            course = await lock_course(session, course_id)
            if course.archived_at is not None:
                raise CourseArchivedError(course_id)
            result = await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.state == "succeeded")
                .values(
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
                .returning(Step.key)
                .execution_options(synchronize_session=False)
            )
            checked = len(result.scalars().all())
            await audit_chain.append_event(
                session,
                at=now,
                actor=actor,
                event=STARTED,
                course_id=course_id,
                summary={"steps": checked},
            )
        log.info("reconcile started", extra={"course_id": course_id, "steps": checked})
        self._on_change()
        return checked

    async def report(self, course_id: str) -> DriftReport:
        """The drift report of the course's last reconcile (`GET /courses/{id}/drift`)."""
        async with self._sessions() as session:
            if await session.get(Course, course_id) is None:
                raise CourseNotFoundError(course_id)
            started = await last_event(session, course_id, STARTED)
            states = dict(
                (
                    await session.execute(
                        select(Step.state, func.count())
                        .where(Step.course_id == course_id)
                        .group_by(Step.state)
                    )
                ).all()
            )
            failed = (
                await session.scalars(
                    select(Step.key)
                    .where(
                        Step.course_id == course_id,
                        Step.state.in_(("failed", "blocked", "awaiting_action")),
                    )
                    .order_by(Step.position)
                )
            ).all()
            if started is None:
                return DriftReport(course_id, None, True, 0, [], [], [])
            reported = await last_event(session, course_id, REPORTED, started.id)
            summary = (reported.request_summary if reported is not None else None) or {}
            repairs = await repairs_since(
                session, course_id, started.id, summary.get("findings") or {}
            )
        return DriftReport(
            course_id=course_id,
            started_at=started.at,
            finished=not any(states.get(s, 0) for s in _UNSETTLED),
            checked=int((started.request_summary or {}).get("steps", 0)),
            drifted=list(dict.fromkeys(r.step_key for r in repairs)),
            repairs=repairs,
            failed=list(failed),
            reported_id=None if reported is None else reported.id,
        )

    async def finish(self, course_id: str) -> DriftReport:
        """Explain each repair (who changed it, from the platform's audit log) and record the
        report of a settled reconcile in the audit log; a report that repaired something gets
        its course log message stored with it (`drift_notices`: posted once, by whichever bot
        is connected, even after a restart)."""
        report = await self.report(course_id)
        findings = await self._explain(course_id, report.repairs[:_FINDINGS_MAX])
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await audit_chain.append_event(
                session,
                at=now,
                actor=ACTOR,
                event=REPORTED,
                course_id=course_id,
                summary={
                    "checked": report.checked,
                    "repaired": len(report.drifted),
                    "writes": len(report.repairs),
                    "drifted": report.drifted[:_KEYS_MAX],
                    "failed": report.failed[:_KEYS_MAX],
                    "findings": {str(i): f.to_json() for i, f in findings.items()},
                },
            )
            # Only repairs are news: steps that wait for a person have their own message.
            if report.repairs:
                await add_drift_message(session, course_id=course_id, at=now)
        if report.drifted:
            log.warning(
                "drift repaired", extra={"course_id": course_id, "steps": len(report.drifted)}
            )
        return await self.report(course_id)

    async def _explain(self, course_id: str, repairs: list[Repair]) -> dict[int, Finding]:
        if not repairs:
            return {}
        async with self._sessions() as session:
            guild_id = await session.scalar(
                select(Step.external_id).where(Step.course_id == course_id, Step.key == SERVER_STEP)
            )
            bodies: dict[int, Any] = dict(
                (
                    await session.execute(
                        select(AuditEvent.id, AuditEvent.request_summary).where(
                            AuditEvent.id.in_([r.audit_id for r in repairs])
                        )
                    )
                ).all()
            )
        writes = [
            Write(r.audit_id, r.method, r.path, _sent(bodies.get(r.audit_id))) for r in repairs
        ]
        # The audit-log reads are the course's calls too: recorded under it, by the reconcile.
        token = audit_context.current.set(
            audit_context.AuditContext(actor=ACTOR, course_id=course_id)
        )
        try:
            return await explain(writes, self._discord, guild_id)
        finally:
            audit_context.current.reset(token)

    async def next_course(self) -> str | None:
        """The active course reconciled longest ago (never first), or None."""
        last = (
            select(AuditEvent.course_id, func.max(AuditEvent.id).label("last"))
            .where(AuditEvent.event == STARTED)
            .group_by(AuditEvent.course_id)
            .subquery()
        )
        query = (
            select(Course.id)
            .outerjoin(last, last.c.course_id == Course.id)
            .where(Course.archived_at.is_(None))
            .order_by(last.c.last.is_not(None), last.c.last, Course.created_at, Course.id)
            .limit(1)
        )
        async with self._sessions() as session:
            return await session.scalar(query)

    async def run_once(
        self, *, poll_s: float = 1.0, timeout_s: float = 3600.0
    ) -> DriftReport | None:
        """Reconcile one course: start, wait (polling) until its steps settle, record the
        report. None when there is no active course."""
        course_id = await self.next_course()
        if course_id is None:
            return None
        return await self._run(course_id, poll_s=poll_s, timeout_s=timeout_s)

    async def _run(
        self, course_id: str, *, poll_s: float = 1.0, timeout_s: float = 3600.0
    ) -> DriftReport:
        await self.start(course_id)
        waited = 0.0
        report = await self.report(course_id)
        while not report.finished and waited < timeout_s:
            await self._sleep(poll_s)
            waited += poll_s
            report = await self.report(course_id)
        return await self.finish(course_id)

    async def run_round(self) -> list[DriftReport]:
        """Reconcile every active course once, one after the other."""
        reports: list[DriftReport] = []
        seen: set[str] = set()
        while (course_id := await self.next_course()) is not None and course_id not in seen:
            seen.add(course_id)
            try:
                report = await self._run(course_id)
            except CourseArchivedError:
                continue  # archived between the choice and the start
            reports.append(report)
        return reports
