"""The pace ledger on PostgreSQL: slots reserved by several engines (processes) at once are
handed out one spacing apart, in one queue per account, and a hold moves every slot on."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from db.engine import create_engine
from db.models import PaceAccount
from db.pace_ledger import DatabasePaceLedger
from provisioning.clock import SystemClock
from provisioning.governor import GovernorLimits, RateGovernor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]
# A write account's send marks (`RateGovernor` names them so).
SENT = "github:abc:write:sent"
Ledgers = tuple[DatabasePaceLedger, DatabasePaceLedger]


@pytest.fixture
async def ledgers(database_url: str) -> AsyncIterator[Ledgers]:
    """Two processes' ledgers on one database: an engine each."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        yield DatabasePaceLedger(engines[0]), DatabasePaceLedger(engines[1])
    finally:
        for engine in engines:
            await engine.dispose()


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


async def test_a_send_mark_waits_for_the_previous_send_to_be_recorded(ledgers: Ledgers) -> None:
    """Two engines mark sends on one account: the second gets nothing while the first's send
    is not recorded; once recorded as having left just now, the second's slot is one spacing
    later; a released mark (its write never left) holds nobody, and keeps its slot."""
    one, two = ledgers
    assert await one.mark(SENT, 10.0, "a", 60.0) == 0.0
    assert await two.mark(SENT, 10.0, "b", 60.0) is None
    await one.sent(SENT, 10.0, "a", lambda: 0.0)  # it left just now
    assert await two.mark(SENT, 10.0, "b", 60.0) == pytest.approx(10.0, abs=0.5)
    await two.sent(SENT, 10.0, "b", None)  # released: it never left
    assert await one.mark(SENT, 10.0, "c", 60.0) == pytest.approx(20.0, abs=0.5)
    assert await two.mark(SENT, 10.0, "d", 60.0) is None


async def test_closing_releases_the_marks_whose_send_was_never_recorded(ledgers: Ledgers) -> None:
    """A process stopping between a write's mark and its send record (its step cancelled)
    releases the mark when its ledger closes, as a send of that moment: another process then
    marks at once, one spacing later, instead of waiting out the hold (60 s here)."""
    one, two = ledgers
    assert await one.mark(SENT, 10.0, "a", 60.0) == 0.0
    assert await two.mark(SENT, 10.0, "b", 60.0) is None
    await one.close()
    assert await two.mark(SENT, 10.0, "b", 60.0) == pytest.approx(10.0, abs=0.5)
    await two.sent(SENT, 10.0, "b", lambda: 0.0)
    await one.close()  # nothing left to release: the other's record stands
    assert await one.mark(SENT, 10.0, "c", 60.0) == pytest.approx(20.0, abs=0.5)


async def test_a_writer_held_back_by_its_own_process_is_woken_by_the_send_record(
    ledgers: Ledgers,
) -> None:
    """Held back by a mark of its own process, a writer waits for that send's record, not
    for a poll: it asks again the moment the record is in (the hold, 60 s, is not waited)."""
    ledger = ledgers[0]
    assert await ledger.mark(SENT, 0.2, "a", 60.0) == 0.0
    assert await ledger.mark(SENT, 0.2, "b", 60.0) is None
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiter = asyncio.create_task(ledger.wait_sent(SENT, 10.0))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await ledger.sent(SENT, 0.2, "a", lambda: 0.0)
    await asyncio.wait_for(waiter, 1.0)
    assert loop.time() - started < 1.0
    assert await ledger.mark(SENT, 0.2, "b", 60.0) == pytest.approx(0.2, abs=0.1)


async def test_a_writer_held_back_by_another_process_asks_again_from_that_writes_slot(
    ledgers: Ledgers,
) -> None:
    """Held back by another process's mark whose slot is 0.5 s away, a writer asks again
    only from that slot on (then every poll), not every poll from now."""
    one, two = ledgers
    assert await one.mark(SENT, 0.5, "a", 60.0) == 0.0
    await one.sent(SENT, 0.5, "a", lambda: 0.0)
    assert await one.mark(SENT, 0.5, "c", 60.0) == pytest.approx(0.5, abs=0.1)
    assert await two.mark(SENT, 0.5, "b", 60.0) is None
    loop = asyncio.get_running_loop()
    started = loop.time()
    await two.wait_sent(SENT, 0.01)
    assert 0.35 < loop.time() - started < 1.5


async def test_two_writers_held_back_by_their_own_process_are_both_woken_by_the_record(
    ledgers: Ledgers,
) -> None:
    """Two writers of one process wait on the same account at once: both wait for the record
    of the send that held them, which wakes both (neither falls back to asking every poll)."""
    ledger = ledgers[0]
    assert await ledger.mark(SENT, 0.2, "a", 60.0) == 0.0
    assert await ledger.mark(SENT, 0.2, "b", 60.0) is None
    assert await ledger.mark(SENT, 0.2, "c", 60.0) is None
    waiters = [asyncio.create_task(ledger.wait_sent(SENT, 0.01)) for _ in range(2)]
    await asyncio.sleep(0.05)
    assert not any(waiter.done() for waiter in waiters)
    await ledger.sent(SENT, 0.2, "a", lambda: 0.0)
    await asyncio.wait_for(asyncio.gather(*waiters), 1.0)


async def test_writers_of_one_process_ask_for_their_send_marks_one_at_a_time(
    database_url: str,
) -> None:
    """Six writes of one process (one governor) asked at once, the first of them sent 0.3 s
    late, so the other five wait for its record together: each record lets the next writer in
    line ask for its mark, not every writer waiting (all asked again, an UPDATE of the one
    row each: 21 marks for six writes, where two a writer at most will do). The sends still
    go out a spacing apart."""
    engine = create_engine(database_url)
    marks = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal marks
        marks += "(account, next_at, pending_id, pending_until)" in statement

    clock = SystemClock()
    governor = RateGovernor(
        "github",
        GovernorLimits.github(scale=20),  # writes 50 ms apart
        clock,
        ledger=DatabasePaceLedger(engine),
        credential="github:abc",
    )
    reset = str(int(time.time()) + 3600)
    answer = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": reset,
    }

    async def write(late: Iterator[float]) -> float:
        mark = await governor.acquire("core", write=True)
        assert mark is not None
        # The first of the writers to get its mark takes `late`'s one delay.
        await asyncio.sleep(mark.wait_s + next(late, 0.0))  # as the sending thread does
        sent = clock.monotonic()
        await governor.sent(mark, 0.0)
        governor.observe("core", answer)
        return sent

    try:
        await write(iter(()))  # the bucket's first answer: the next need not learn its limit
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        first_late = iter([0.3])
        sends = sorted(await asyncio.gather(*(write(first_late) for _ in range(6))))
    finally:
        await engine.dispose()
    assert min(b - a for a, b in itertools.pairwise(sends)) >= 0.05 - 0.005, sends
    assert sends[-1] - sends[0] < 1.0, sends
    assert 6 <= marks <= 2 * 6 - 1, marks
