"""Sealing the audit chain: appends take no lock, sealers of many processes chain every committed
row once, in commit order, and chains written before sealing existed stay valid."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.audit_chain import GENESIS_HASH, AuditEntry, compute_hash
from db.engine import create_engine, create_session_factory
from db.models import AuditEvent
from provisioning.audit import AuditLog
from provisioning.audit_context import AuditContext, HttpExchange
from provisioning.audit_sealer import AuditSealer
from provisioning.metrics import Metrics
from tests.conftest import alembic_config, in_thread, migrate
from tests.fakes.clocks import ManualClock
from web.schemas import AuditPageOut

Sessions = async_sessionmaker[AsyncSession]
START = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
# A guard, not a pause: how long a test lets a sealer take before it fails.
SEALED_WITHIN_S = 10.0


def _entry(n: int, actor: str = "runner") -> AuditEntry:
    return AuditEntry(
        at=START + timedelta(milliseconds=n),
        actor=actor,
        kind="http",
        method="PUT",
        path=f"/orgs/uni/teams/t/memberships/s{n}",
        request_summary={"role": "member", "n": n},
        status=200,
        duration_ms=n,
        rate_limit={"remaining": 5000 - n},
    )


async def _append(sessions: Sessions, *entries: AuditEntry) -> None:
    async with sessions.begin() as session:
        await audit_chain.append_many(session, list(entries))


async def _rows(sessions: Sessions) -> list[AuditEvent]:
    async with sessions() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


async def test_appenders_and_sealers_of_several_processes_never_fork_the_chain(
    database_url: str,
) -> None:
    """Three engines (processes), each appending batches and sealing at once: every row ends
    in one chain, once, with places 1..n, and verify walks them all."""
    engines = [create_engine(database_url) for _ in range(3)]
    factories = [create_session_factory(engine) for engine in engines]
    sealers = [AuditSealer(sessions, every_s=0.01, gap_s=0) for sessions in factories]
    try:
        for sealer in sealers:
            sealer.start()

        async def appender(p: int) -> None:
            for t in range(12):
                base = p * 1000 + t * 10
                await _append(factories[p], *(_entry(base + k, f"p{p}") for k in range(1 + t % 3)))
                sealers[p].wake()

        await asyncio.gather(*(appender(p) for p in range(3)))
        for sealer in sealers:
            await sealer.close()
        rows = await _rows(factories[0])
        async with factories[1]() as session:
            result = await audit_chain.verify(session)
    finally:
        for engine in engines:
            await engine.dispose()
    assert len(rows) == 3 * 24
    assert sorted(r.seq for r in rows if r.seq is not None) == list(range(1, len(rows) + 1))
    assert (result.ok, result.checked) == (True, len(rows))
    by_seq = sorted(rows, key=lambda r: r.seq or 0)
    assert [r.prev_hash for r in by_seq] == [GENESIS_HASH] + [r.hash for r in by_seq[:-1]]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_row_committed_after_a_later_id_is_sealed_after_it(
    session_factory: Sessions,
) -> None:
    """A transaction that appended (lower id) and commits late does not hold up a seal, and its
    row is chained after the higher id committed first. PostgreSQL only: on SQLite the first
    writer holds the one write lock until it commits, so ids commit in order."""
    async with session_factory.begin() as late:
        await audit_chain.append(late, _entry(1, "late"))
        await _append(session_factory, _entry(2, "early"))
        async with session_factory() as sealing:
            # Completes while `late` is open: an append holds no lock of the chain.
            assert await asyncio.wait_for(audit_chain.seal(sealing), SEALED_WITHIN_S) == 1
    async with session_factory() as sealing:
        assert await audit_chain.seal(sealing) == 1
    rows = {r.actor: r for r in await _rows(session_factory)}
    assert rows["late"].id < rows["early"].id
    assert (rows["early"].seq, rows["late"].seq) == (1, 2)
    assert rows["late"].prev_hash == rows["early"].hash
    async with session_factory() as session:
        result = await audit_chain.verify(session)
    assert (result.ok, result.checked) == (True, 2)


async def test_rows_left_unsealed_by_a_stopped_process_are_sealed_by_the_next(
    database_url: str,
) -> None:
    """A process that wrote rows and died before sealing them: the next process's sealer
    chains them as it starts, and the chain verifies."""
    crashed = create_engine(database_url)
    try:
        await _append(create_session_factory(crashed), _entry(1), _entry(2))
        await _append(create_session_factory(crashed), _entry(3))
    finally:
        await crashed.dispose()
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    sealed = asyncio.Event()
    sealer = AuditSealer(sessions, on_round=lambda n: sealed.set() if n else None)
    try:
        assert all(r.seq is None and r.hash is None for r in await _rows(sessions))
        sealer.start()
        await asyncio.wait_for(sealed.wait(), SEALED_WITHIN_S)
        assert [r.seq for r in await _rows(sessions)] == [1, 2, 3]
        async with sessions() as session:
            result = await audit_chain.verify(session)
        assert (result.ok, result.checked) == (True, 3)
    finally:
        await sealer.close()
        await engine.dispose()


async def test_closing_the_sealer_seals_what_the_process_wrote(session_factory: Sessions) -> None:
    """A process stopping seals its last rows before its engine closes."""
    sealer = AuditSealer(session_factory, every_s=3600)
    await _append(session_factory, _entry(1), _entry(2))
    await sealer.close()
    assert [r.seq for r in await _rows(session_factory)] == [1, 2]


async def test_a_sealed_row_tampered_with_is_the_first_broken_link_after_more_are_sealed(
    session_factory: Sessions,
) -> None:
    """Rows sealed after a tampered one chain on its stored hash: verify still names it."""
    await _append(session_factory, _entry(1), _entry(2), _entry(3))
    async with session_factory() as session:
        await audit_chain.seal(session)
    async with session_factory.begin() as session:
        tampered = await session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
        assert tampered is not None
        tampered.path = "/orgs/uni/teams/t/memberships/someone-else"
    await _append(session_factory, _entry(4))
    async with session_factory() as session:
        result = await audit_chain.verify(session)
    assert (result.ok, result.first_broken_id, result.checked) == (False, tampered.id, 2)


async def test_the_migration_keeps_a_chain_written_before_it_verifiable(
    empty_database_url: str,
) -> None:
    """Rows chained by the code before sealing (in id order, one rolled back) get `seq = id`,
    verify as before, and new rows chain on after them; the downgrade refuses while a row is
    unsealed and works once all are sealed."""
    migrate(empty_database_url, "0018")
    engine = create_engine(empty_database_url)
    sessions = create_session_factory(engine)
    table = AuditEvent.__table__
    prev = GENESIS_HASH
    try:
        for n in range(4):
            fields = {
                "at": START + timedelta(seconds=n),
                "actor": "runner",
                "kind": "event",
                "event": f"step.e{n}",
                "request_summary": {"n": n},
            }
            digest = compute_hash(fields, prev)
            async with sessions.begin() as session:
                await session.execute(insert(table).values(**fields, prev_hash=prev, hash=digest))
            if n == 1:
                # An id taken by a transaction that rolled back: a gap on PostgreSQL.
                async with sessions() as session:
                    bogus = {"prev_hash": "x" * 64, "hash": "y" * 64}
                    await session.execute(insert(table).values(**fields, **bogus))
                    await session.rollback()
            prev = digest
        await engine.dispose()
        migrate(empty_database_url)
        old = await _rows(sessions)
        assert [r.seq for r in old] == [r.id for r in old]
        await _append(sessions, _entry(10))
        with pytest.raises(RuntimeError, match="not sealed"):
            in_thread(command.downgrade, alembic_config(empty_database_url), "0018")
        async with sessions() as session:
            result = await audit_chain.verify(session)
        assert (result.ok, result.checked) == (True, 5)
        new = (await _rows(sessions))[-1]
        assert (new.seq, new.prev_hash) == (old[-1].id + 1, old[-1].hash)
        await engine.dispose()
        in_thread(command.downgrade, alembic_config(empty_database_url), "0018")
    finally:
        await engine.dispose()


def _exchange(n: int) -> HttpExchange:
    return HttpExchange(
        platform="github",
        method="PUT",
        path=f"/orgs/uni/teams/t/memberships/s{n}",
        status=200,
        duration_ms=5,
        request_summary={"role": "member"},
    )


async def test_the_audit_writer_wakes_the_sealer_once_its_rows_commit(
    session_factory: Sessions, clock: ManualClock
) -> None:
    """HTTP rows the transports record are sealed on the writer's wake, not at the next sweep
    (an hour away here)."""
    sealed = asyncio.Event()
    sealer = AuditSealer(
        session_factory, every_s=3600, gap_s=0, on_round=lambda n: sealed.set() if n else None
    )
    log = AuditLog(session_factory, clock, Metrics(), on_written=sealer.wake)
    sealer.start()
    try:
        context = AuditContext(actor="runner", course_id="c-1", step_key="github.team:lab-01")
        await asyncio.gather(*(log.record_http(_exchange(n), context) for n in range(3)))
        await asyncio.wait_for(sealed.wait(), SEALED_WITHIN_S)
        assert [r.seq for r in await _rows(session_factory)] == [1, 2, 3]
    finally:
        await sealer.close()


async def test_an_unsealed_row_is_shown_with_null_links_until_sealed(
    session_factory: Sessions, clock: ManualClock
) -> None:
    """A course's audit page shows a row written a moment ago with seq and hashes null (the
    REST schema accepts it), and with them once sealed."""
    log = AuditLog(session_factory, clock, Metrics())
    context = AuditContext(actor="runner", course_id="c-1")
    await log.record_http(_exchange(1), context)
    page = AuditPageOut.of("c-1", await log.page("c-1"), None)
    assert [(r.seq, r.hash, r.prev_hash) for r in page.items] == [(None, None, None)]
    assert (await log.verify()).checked == 1
    (row,) = AuditPageOut.of("c-1", await log.page("c-1"), None).items
    assert (row.seq, row.prev_hash) == (1, GENESIS_HASH)
    assert row.hash is not None
