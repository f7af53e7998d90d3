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
