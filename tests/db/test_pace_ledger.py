"""The pace ledger on PostgreSQL: slots reserved by several engines (processes) at once are
handed out one spacing apart, in one queue per account, and a hold moves every slot on."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import select

from db.engine import create_engine
from db.models import PaceAccount
from db.pace_ledger import DatabasePaceLedger

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


async def test_two_engines_reserving_at_once_get_slots_one_spacing_apart(
    database_url: str,
) -> None:
    """Twenty reservations from two engines at once: the sending times, sorted, are one
    spacing apart (10 s, so that the jitter of the answers' way back, a fraction of a second
    on a busy machine, cannot blur them); another account is not held up."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        ledgers = [DatabasePaceLedger(engine) for engine in engines]
        loop = asyncio.get_running_loop()

        async def slot(ledger: DatabasePaceLedger) -> float:
            wait = await ledger.reserve("github:abc:write", 10.0)
            return loop.time() + wait  # when the governor would send

        starts = sorted(await asyncio.gather(*(slot(ledgers[i % 2]) for i in range(20))))
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert min(gaps) > 10.0 - 0.5, gaps
        assert starts[-1] - starts[0] == pytest.approx(19 * 10.0, abs=0.5)
        assert await ledgers[1].reserve("discord:abc:any", 10.0) == 0.0
        async with engines[0].connect() as conn:
            accounts = set((await conn.execute(select(PaceAccount.account))).scalars())
        assert accounts == {"github:abc:write", "discord:abc:any"}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_hold_delays_every_later_slot(database_url: str) -> None:
    """After `hold(2)` the next reservation waits about 2 s; a shorter hold shortens nothing."""
    engine = create_engine(database_url)
    try:
        ledger = DatabasePaceLedger(engine)
        await ledger.hold("github:abc:write", 2.0)
        await ledger.hold("github:abc:write", 0.5)
        assert await ledger.reserve("github:abc:write", 1.0) == pytest.approx(2.0, abs=0.1)
    finally:
        await engine.dispose()


async def test_a_send_mark_waits_for_the_previous_send_to_be_recorded(database_url: str) -> None:
    """Two engines mark sends on one account: the second gets nothing while the first's send
    is not recorded; once recorded as having left just now, the second's slot is one spacing
    later; a released mark (its write never left) holds nobody, and keeps its slot."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        one, two = (DatabasePaceLedger(engine) for engine in engines)
        account = "github:abc:write:sent"
        assert await one.mark(account, 10.0, "a", 60.0) == 0.0
        assert await two.mark(account, 10.0, "b", 60.0) is None
        await one.sent(account, 10.0, "a", lambda: 0.0)  # it left just now
        assert await two.mark(account, 10.0, "b", 60.0) == pytest.approx(10.0, abs=0.5)
        await two.sent(account, 10.0, "b", None)  # released: it never left
        assert await one.mark(account, 10.0, "c", 60.0) == pytest.approx(20.0, abs=0.5)
        assert await two.mark(account, 10.0, "d", 60.0) is None
    finally:
        for engine in engines:
            await engine.dispose()
