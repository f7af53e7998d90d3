"""The course log's message about a reconcile that repaired something, kept in the database.

`add_drift_message` stores it in the transaction that records the reconcile's report (its
audit event), so the two commit together: a restart after the reconcile finds it still due.
`DriftNotices.due` lists the messages not posted yet with their reports (read back from the
audit log as recorded, `drift_report.recorded_report`); `post` posts one once, as staff
notices are (`provisioning.posted_once`), by whichever bot process has the log channel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, DriftMessage
from provisioning.clock import Clock
from provisioning.courses.drift_report import (
    REPORTED,
    STARTED,
    DriftReport,
    last_event,
    recorded_report,
)
from provisioning.posted_once import claim_then_send

log = logging.getLogger(__name__)

# Messages looked at per round, oldest first.
_BATCH = 20


@dataclass(frozen=True)
class DriftNotice:
    """A recorded report with the course's names, for the course log."""

    id: int
    course_id: str
    code: str
    term: str
    title: str
    report: DriftReport


async def add_drift_message(session: AsyncSession, *, course_id: str, at: datetime) -> None:
    """Store the message about the course's last reconcile, in the caller's transaction, after
    its report's audit event was appended there."""
    started = await last_event(session, course_id, STARTED)
    if started is None:
        raise ValueError(f"course {course_id} has no reconcile to tell the course log about")
    reported = await last_event(session, course_id, REPORTED, started.id)
    if reported is None:
        raise ValueError(f"the reconcile of course {course_id} has no recorded report yet")
    session.add(
        DriftMessage(
            course_id=course_id, created_at=at, started_id=started.id, reported_id=reported.id
        )
    )


class DriftNotices:
    """The drift messages not posted yet, and posting one once."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        # Messages whose report could not be read, said once each (not on every round).
        self._unreadable: set[int] = set()

    async def due(self) -> list[DriftNotice]:
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(DriftMessage, Course.code, Course.term, Course.title)
                    .join(Course, Course.id == DriftMessage.course_id)
                    .where(DriftMessage.posted_at.is_(None))
                    .order_by(DriftMessage.id)
                    .limit(_BATCH)
                )
            ).all()
            due: list[DriftNotice] = []
            for message, code, term, title in rows:
                report = await recorded_report(
                    session, message.course_id, message.started_id, message.reported_id
                )
                if report is None:
                    # Written with its audit event, which is never deleted: a bug if it shows.
                    if message.id not in self._unreadable:
                        self._unreadable.add(message.id)
                        log.error("drift message %s has no report in the audit log", message.id)
                    continue
                due.append(DriftNotice(message.id, message.course_id, code, term, title, report))
        return due

    async def post(self, notice: DriftNotice, send: Callable[[], Awaitable[None]]) -> bool:
        """Claim `notice`, then `send` it; False if another round posted it already."""
        return await claim_then_send(
            self._sessions, DriftMessage, notice.id, self._clock.now(), send
        )
