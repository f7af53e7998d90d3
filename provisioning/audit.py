"""The audit log service: HTTP exchanges from the transports, and reading and verifying the log.

Rows are appended through `audit_chain` before the HTTP call returns to the step: a step that
crashes right after a call still leaves the call's row. Calls answered while a write is under
way are written together, in the next batch (group commit): each caller still waits for its own
row's commit, but many calls at once cost one insert, committed on its own, not one each.
Rows are written unsealed; after each commit the writer wakes the process's sealer
(`provisioning.audit_sealer`), which chains them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import AuditEvent
from provisioning.audit_context import AuditContext, HttpExchange, sent_at
from provisioning.clock import Clock
from provisioning.metrics import Metrics

# The audit writer's statements commit on their own on PostgreSQL (`AuditLog._write_batches`).
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
# At most this many rows a batch: SQLAlchemy sends up to 1,000 rows as one INSERT statement
# (`insertmanyvalues_page_size`), and a batch must stay one statement to be all or none when it
# commits on its own.
_BATCH_ROWS = 1000


@dataclass(frozen=True)
class AuditPage:
    """Rows of one course's log, oldest first, and the cursor of the next page."""

    rows: list[dict[str, Any]]
    next_after: int | None


class AuditLog:
    """Implements `HttpAuditSink`; one instance per process, shared by both gateways."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        metrics: Metrics,
        *,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics
        # Called after rows commit: the sealer's `wake`.
        self._on_written = on_written
        # Rows waiting for the next batch, each with the future its caller awaits.
        self._queue: list[tuple[audit_chain.AuditEntry, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record_http(self, exchange: HttpExchange, context: AuditContext) -> None:
        summary = dict(exchange.request_summary)
        summary["platform"] = exchange.platform
        if exchange.error:
            summary["error"] = exchange.error[:500]
        written = asyncio.get_running_loop().create_future()
        self._queue.append(
            (
                audit_chain.AuditEntry(
                    at=sent_at(exchange, self._clock.now()),
                    actor=context.actor,
                    kind="http",
                    course_id=context.course_id,
                    step_key=context.step_key,
                    attempt=context.attempt,
                    method=exchange.method,
                    path=exchange.path,
                    request_summary=summary,
                    status=exchange.status,
                    external_id=exchange.external_id,
                    duration_ms=exchange.duration_ms,
                    request_id=exchange.request_id,
                    rate_limit=exchange.rate_limit,
                ),
                written,
            )
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="audit-writer")
        # Shielded: a step cancelled meanwhile (stopping) must not leave a row half-known; the
        # row is written whatever becomes of its caller.
        await asyncio.shield(written)
        self._metrics.http_requests.labels(exchange.platform, exchange.method).inc()
        if exchange.rate_limited or exchange.status == 429:
            self._metrics.http_429.labels(exchange.platform).inc()

    async def record_mail(self, recipient: str, status: str, context: AuditContext) -> None:
        """One message a mail transport tried to send: to whom and the answer (`MailAuditSink`);
        never its content, which holds a personal link."""
        async with self._sessions.begin() as session:
            await audit_chain.append_event(
                session,
                at=self._clock.now(),
                actor=context.actor,
                event="email.sent" if status.startswith("sent") else "email.failed",
                course_id=context.course_id,
                step_key=context.step_key,
                attempt=context.attempt,
                summary={"to": recipient, "status": status},
            )
        if self._on_written is not None:
            self._on_written()

    async def _write_batches(self) -> None:
        """Write what is queued, in order, one statement per batch, until nothing is.

        On PostgreSQL the batch's INSERT commits on its own (autocommit): a BEGIN and a COMMIT
        would be two more round trips per batch, each an await in a busy runner's event loop,
        and every call of the process waits for its batch (measured: a third of the time
        between a Discord step's calls). The driver sends a batch's rows in one implicit
        transaction: all or none. SQLite keeps the transaction: there each row of a batch
        outside one would be a commit of its own."""
        while self._queue:
            batch, self._queue = self._queue[:_BATCH_ROWS], self._queue[_BATCH_ROWS:]
            try:
                async with self._sessions() as session:
                    if session.get_bind().dialect.name == "postgresql":
                        await session.connection(execution_options=_AUTOCOMMIT)
                    await audit_chain.append_many(session, [entry for entry, _ in batch])
                    await session.commit()  # nothing to commit on PostgreSQL: committed
            except Exception as exc:
                for _, written in batch:
                    written.set_exception(exc)
            else:
                if self._on_written is not None:
                    self._on_written()
                for _, written in batch:
                    written.set_result(None)

    async def verify(self) -> audit_chain.ChainVerification:
        """Seal what is committed, then walk the chain; the first broken link, if any."""
        async with self._sessions() as session:
            return await audit_chain.verify(session)

    async def page(self, course_id: str, *, after: int = 0, limit: int = 100) -> AuditPage:
        """One page of a course's rows, oldest first; `after` is the previous page's cursor."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.course_id == course_id, AuditEvent.id > after)
                    .order_by(AuditEvent.id)
                    .limit(limit + 1)
                )
            ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(
            rows=[_public(row) for row in rows],
            next_after=rows[-1].id if more and rows else None,
        )

    async def newest(
        self,
        course_id: str,
        *,
        before: int | None = None,
        limit: int = 50,
        step_key: str | None = None,
        errors_only: bool = False,
    ) -> AuditView:
        """A page of a course's rows, newest first, of one step and only errors if asked."""
        async with self._sessions() as session:
            return await _newest(
                session,
                course_id,
                before=before,
                limit=limit,
                step_key=step_key,
                errors_only=errors_only,
            )


@dataclass(frozen=True)
class AuditView:
    """Rows of one course's log, newest first, for people reading it on the status page."""

    rows: list[dict[str, Any]]
    # Where the next (older) page starts, or None on the last page.
    before: int | None
    # Step keys that have rows, for the filter.
    step_keys: list[str]


async def _newest(
    session: AsyncSession,
    course_id: str,
    *,
    before: int | None,
    limit: int,
    step_key: str | None,
    errors_only: bool,
) -> AuditView:
    query = (
        select(AuditEvent)
        .where(AuditEvent.course_id == course_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if step_key:
        query = query.where(AuditEvent.step_key == step_key)
    if errors_only:
        query = query.where(AuditEvent.status >= 400)
    rows = (await session.scalars(query)).all()
    keys = (
        await session.scalars(
            select(AuditEvent.step_key)
            .distinct()
            .where(AuditEvent.course_id == course_id, AuditEvent.step_key.is_not(None))
        )
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditView(
        rows=[_public(row) for row in rows],
        before=rows[-1].id if more and rows else None,
        step_keys=sorted(k for k in keys if k),
    )


def _public(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "kind": row.kind,
        "event": row.event,
        "step_key": row.step_key,
        "attempt": row.attempt,
        "method": row.method,
        "path": row.path,
        "status": row.status,
        "request_summary": row.request_summary,
        "external_id": row.external_id,
        "duration_ms": row.duration_ms,
        "request_id": row.request_id,
        "rate_limit": row.rate_limit,
        # All three None for a moment after the row is written, until it is sealed.
        "seq": row.seq,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
    }
