"""The audit log's hash chain: every row stores the previous row's hash and its own.

``hash = sha256(canonical JSON of the row's fields + prev_hash)``. Appends are serialised per
database so two writers can never chain onto the same predecessor: PostgreSQL takes a
transaction-level advisory lock, SQLite takes its single write lock before reading the head.
The unique constraint on ``prev_hash`` is the last line of defence: a fork fails the transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# The table itself: rows inserted through it skip the ORM (see `append_many`).
_AUDIT_TABLE = cast(Table, AuditEvent.__table__)
# Arbitrary but fixed: identifies "the audit chain" among advisory locks of this database.
_ADVISORY_LOCK_KEY = 0x41554449545F4348  # "AUDIT_CH"

HASHED_FIELDS = (
    "at",
    "course_id",
    "step_key",
    "attempt",
    "actor",
    "kind",
    "event",
    "method",
    "path",
    "request_summary",
    "status",
    "external_id",
    "duration_ms",
    "request_id",
    "rate_limit",
)


@dataclass(frozen=True)
class AuditEntry:
    """What a caller wants recorded; the chain adds ``prev_hash`` and ``hash``."""

    at: datetime
    actor: str
    kind: Literal["http", "event"]
    course_id: str | None = None
    step_key: str | None = None
    attempt: int | None = None
    event: str | None = None
    method: str | None = None
    path: str | None = None
    request_summary: Mapping[str, Any] | None = None
    status: int | None = None
    external_id: str | None = None
    duration_ms: int | None = None
    request_id: str | None = None
    rate_limit: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class ChainVerification:
    """Result of walking the chain: rows checked and the id of the first broken row, if any."""

    checked: int
    first_broken_id: int | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def _canonical_at(at: datetime) -> str:
    # Both backends keep microseconds; a fixed format makes the hash independent of the driver.
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """sha256 hex of the canonical JSON of ``fields`` (``at`` as a datetime) plus ``prev_hash``."""
    document = {name: fields.get(name) for name in HASHED_FIELDS}
    document["at"] = _canonical_at(fields["at"])
    document["prev_hash"] = prev_hash
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _row_fields(row: AuditEvent) -> dict[str, Any]:
    return {name: getattr(row, name) for name in HASHED_FIELDS}


async def _lock_chain_and_read_head(session: AsyncSession) -> str:
    """Serialise this transaction's appends against every other writer's, then read the
    chain's head: the hash of the newest row, or the genesis hash."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # A write statement makes SQLite take its write lock now, so no other writer can
        # append between this read of the head and our inserts. Rewriting the head row in
        # place (id = id) is that write and reads the head in the same statement: one round
        # trip to the database's thread instead of two, on every audit batch and step event.
        head = await session.scalar(
            text(
                "UPDATE audit_events SET id = id "
                "WHERE id = (SELECT max(id) FROM audit_events) RETURNING hash"
            )
        )
        return head or GENESIS_HASH
    if dialect == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
        )
    head = await session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return head or GENESIS_HASH


async def append(session: AsyncSession, entry: AuditEntry) -> None:
    """Add ``entry`` to the chain inside the caller's transaction."""
    await append_many(session, [entry])


async def append_many(session: AsyncSession, entries: Sequence[AuditEntry]) -> None:
    """Add ``entries``, in order, to the chain inside the caller's transaction.

    One lock, one read of the head and one multi-row insert for all: a batch of audit rows or
    a claim of eight steps costs the same few round trips as a single row. The rows go in as
    a plain table insert, not as ORM objects: nothing reads them back in this transaction,
    and the unit of work cost more CPU than everything else an append does.
    """
    if not entries:
        return
    # The caller's pending ORM changes first: the chain's lock is taken after the rows it
    # records (see `step_queue._settle` on why that order avoids deadlocks).
    await session.flush()
    prev_hash = await _lock_chain_and_read_head(session)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        values: dict[str, Any] = {
            name: getattr(entry, name) for name in HASHED_FIELDS if name not in ("at",)
        }
        values["at"] = entry.at.astimezone(UTC)
        for name in ("request_summary", "rate_limit"):
            if values[name] is not None:
                values[name] = dict(values[name])
        values["prev_hash"] = prev_hash
        values["hash"] = prev_hash = compute_hash(values, prev_hash)
        rows.append(values)
    await session.execute(insert(_AUDIT_TABLE), rows)


def event_entry(
    *,
    at: datetime,
    actor: str,
    event: str,
    course_id: str | None,
    step_key: str | None = None,
    attempt: int | None = None,
    summary: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """The entry of a domain event (see `append_event`), for `append_many`."""
    return AuditEntry(
        at=at,
        actor=actor,
        kind="event",
        event=event,
        course_id=course_id,
        step_key=step_key,
        attempt=attempt,
        request_summary=summary,
    )


async def append_event(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    event: str,
    course_id: str | None,
    step_key: str | None = None,
    attempt: int | None = None,
    summary: Mapping[str, Any] | None = None,
) -> None:
    """Add a domain event (a course created, a step started, …) to the chain, in the caller's
    transaction: the event commits or rolls back with the change it records."""
    await append(
        session,
        event_entry(
            at=at,
            actor=actor,
            event=event,
            course_id=course_id,
            step_key=step_key,
            attempt=attempt,
            summary=summary,
        ),
    )


async def verify(session: AsyncSession, batch_size: int = 500) -> ChainVerification:
    """Walk the whole chain in id order and report the first row whose link or hash is wrong."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            return ChainVerification(checked=checked, first_broken_id=None)
        for row in rows:
            checked += 1
            if row.prev_hash != expected_prev or row.hash != compute_hash(
                _row_fields(row), row.prev_hash
            ):
                log.warning("audit chain broken", extra={"audit_id": row.id})
                return ChainVerification(checked=checked, first_broken_id=row.id)
            expected_prev = row.hash
            last_id = row.id
