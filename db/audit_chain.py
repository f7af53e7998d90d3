"""The audit log's hash chain: every row stores the previous row's hash and its own.

``hash = sha256(canonical JSON of the row's fields + prev_hash)``. Writing and chaining are
two steps, so that writers never wait for one another:

- `append_many` inserts rows *unsealed* (``seq``, ``prev_hash`` and ``hash`` NULL) in the
  caller's transaction: one INSERT, no lock, no read of the chain's head. A row still commits
  or rolls back with the change it records.
- `seal` chains committed rows, in its own short transactions, under the chain's lock
  (PostgreSQL: a transaction-level advisory lock; SQLite: its one write lock): it reads the
  head (the highest ``seq``), gives the unsealed rows, in id order, the next places and their
  hashes, and commits. A row with a lower id that commits later is sealed later: the chain's
  order is ``seq``, not ``id``.

The unique constraints on ``prev_hash`` and ``seq`` are the last line of defence: a fork fails
the sealing transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.loop_turns import LoopTurns
from db.models import AuditEvent

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# The table itself: rows inserted through it skip the ORM (see `append_many`).
_AUDIT_TABLE = cast(Table, AuditEvent.__table__)
# Arbitrary but fixed: identifies "the audit chain" among advisory locks of this database.
ADVISORY_LOCK_KEY = 0x41554449545F4348  # "AUDIT_CH"
# Rows chained per sealing transaction: the lock is held for one batch, not for a backlog.
SEAL_BATCH = 2000
# Gives one unsealed row its place and links (executed once per batch, for all its rows).
_SEAL = (
    update(_AUDIT_TABLE)
    .where(_AUDIT_TABLE.c.id == bindparam("b_id"))
    .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash"))
)

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
    """What a caller wants recorded; sealing adds ``seq``, ``prev_hash`` and ``hash``."""

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


def _row_fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in HASHED_FIELDS}


async def append(session: AsyncSession, entry: AuditEntry) -> None:
    """Add ``entry`` to the log inside the caller's transaction (sealed into the chain later)."""
    await append_many(session, [entry])


async def append_many(session: AsyncSession, entries: Sequence[AuditEntry]) -> None:
    """Add ``entries``, in order, to the log inside the caller's transaction.

    One multi-row insert and nothing else: no lock and no read of the chain's head, so an
    append never waits for another writer's commit. The rows go in unsealed (`seal` chains
    them once committed), in order: `seal` chains a transaction's rows in id order. They go
    in as a plain table insert, not as ORM objects: nothing reads them back in this
    transaction, and the unit of work cost more CPU than everything else an append does.
    """
    if not entries:
        return
    rows: list[dict[str, Any]] = []
    for entry in entries:
        values: dict[str, Any] = {name: getattr(entry, name) for name in HASHED_FIELDS}
        values["at"] = entry.at.astimezone(UTC)
        for name in ("request_summary", "rate_limit"):
            if values[name] is not None:
                values[name] = dict(values[name])
        rows.append(values)
    await session.execute(insert(_AUDIT_TABLE), rows)


async def _lock_chain(session: AsyncSession, *, wait: bool) -> bool:
    """Take the chain's lock for this transaction; False if ``wait`` is off and another
    transaction holds it (it is sealing: what is committed now, it seals or leaves to the
    next round)."""
    if session.get_bind().dialect.name == "postgresql":
        if wait:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            return True
        return bool(
            await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        )
    # SQLite: a write statement takes the database's one write lock now (waiting for it up
    # to the busy timeout), before the head is read; one that changes nothing will do.
    await session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))
    return True


def _session_of_its_own(session: AsyncSession) -> AsyncSession:
    bind = session.bind
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the audit chain needs a session bound to an engine (AsyncEngine)")
    return AsyncSession(bind)


async def seal(session: AsyncSession, *, batch_size: int = SEAL_BATCH, wait: bool = True) -> int:
    """Chain every committed unsealed row, ``batch_size`` rows per transaction, until none is
    left; the number sealed.

    Each batch is a transaction of its own, kept short (the lock, the head, the rows, one
    multi-row update, the commit) so nothing waits long for it; if ``session`` is in a
    transaction already (one that read, never one that wrote: on SQLite that would hold the
    lock the seal waits for), on a session of its own on the same engine. With ``wait`` off,
    a process finding another sealing leaves the rows to it and returns.
    """
    if session.in_transaction():
        async with _session_of_its_own(session) as own:
            return await seal(own, batch_size=batch_size, wait=wait)
    sealed = 0
    while True:
        async with session.begin():
            if not await _lock_chain(session, wait=wait):
                return sealed
            head = (
                await session.execute(
                    select(_AUDIT_TABLE.c.seq, _AUDIT_TABLE.c.hash)
                    .where(_AUDIT_TABLE.c.seq.is_not(None))
                    .order_by(_AUDIT_TABLE.c.seq.desc())
                    .limit(1)
                )
            ).first()
            seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
            rows = (
                await session.execute(
                    select(_AUDIT_TABLE.c.id, *(_AUDIT_TABLE.c[name] for name in HASHED_FIELDS))
                    .where(_AUDIT_TABLE.c.seq.is_(None))
                    .order_by(_AUDIT_TABLE.c.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                return sealed
            links: list[dict[str, Any]] = []
            # The sealer shares the event loop with claims: hashing a whole batch at once held
            # it for tens of ms (the slowest claims of bench/big_course.py).
            turns = LoopTurns()
            for row in rows:
                seq += 1
                digest = compute_hash(_row_fields(row), prev_hash)
                links.append({"b_id": row.id, "b_seq": seq, "b_prev": prev_hash, "b_hash": digest})
                prev_hash = digest
                await turns.turn()
            await session.execute(_SEAL, links)
        sealed += len(rows)
        if len(rows) < batch_size:
            return sealed


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
    """Seal what is committed, then walk the whole chain in ``seq`` order and report the first
    row whose link or hash is wrong. Rows committed after the seal are not walked: a row not
    sealed yet is never a broken link. If ``session`` is in a transaction already (whose
    snapshot may predate the seal), on a session of its own on the same engine."""
    if session.in_transaction():
        async with _session_of_its_own(session) as own:
            return await verify(own, batch_size)
    await seal(session)
    expected_prev = GENESIS_HASH
    checked = 0
    last_seq = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > last_seq)
                .order_by(AuditEvent.seq)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            return ChainVerification(checked=checked, first_broken_id=None)
        for row in rows:
            checked += 1
            digest = compute_hash(_row_fields(row), expected_prev)
            if row.prev_hash != expected_prev or row.hash != digest:
                log.warning("audit chain broken", extra={"audit_id": row.id})
                return ChainVerification(checked=checked, first_broken_id=row.id)
            # Not necessarily contiguous: rows of before sealing have their id as `seq`.
            expected_prev, last_seq = digest, cast(int, row.seq)
