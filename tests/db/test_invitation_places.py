"""The shared invitation window on PostgreSQL keeps its table small: places a window old are
deleted by the takes (one in 64 sweeps them), and a status read neither locks nor writes. A
take holds the organization's lock for three statements, and reads the time once it holds it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.invitation_windows import DatabaseInvitationWindows
from db.models import InvitationPlace, InvitationWindowRow
from provisioning.github import invitation_window as places

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

TAKES = 130
WINDOW_S = 0.005  # every place is a window old soon after it is taken


async def rows(engine: AsyncEngine, model: type[InvitationPlace | InvitationWindowRow]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


async def test_past_places_are_deleted_by_the_takes(engine: AsyncEngine) -> None:
    store = DatabaseInvitationWindows(engine)
    for i in range(TAKES):
        async with store.open("org") as window:
            await places.take(window, f"s{i}", WINDOW_S)
    # Swept at takes 1, 65 and 129: at most the 64 since the one before the last remain, and
    # the last take's; without sweeping all 130 would.
    assert await rows(engine, InvitationPlace) <= TAKES - 64


async def test_a_status_read_of_an_unknown_organization_writes_nothing(
    engine: AsyncEngine,
) -> None:
    store = DatabaseInvitationWindows(engine)
    async with store.open("never-invited", lock=False) as window:
        assert await places.queued_after(window) == 0
        assert await places.next_free(window, WINDOW_S) == window.now
    assert await rows(engine, InvitationWindowRow) == 0


async def test_a_taker_that_waited_for_the_lock_sees_the_time_it_got_it(
    engine: AsyncEngine,
) -> None:
    """The window's time is read after its row's lock is held (in the statement that locks
    it): a taker queued behind another for 0.3 s does not take a place as if it were 0.3 s
    earlier."""
    store = DatabaseInvitationWindows(engine)
    async with store.open("org"):  # the organization's row exists from here on
        pass
    first_in = asyncio.Event()
    seen: dict[str, float] = {}

    async def first() -> None:
        async with store.open("org") as window:
            seen["first"] = window.now
            first_in.set()
            await asyncio.sleep(0.3)

    async def second() -> None:
        await first_in.wait()
        async with store.open("org") as window:
            seen["second"] = window.now

    await asyncio.gather(first(), second())
    assert seen["second"] - seen["first"] >= 0.3, seen


async def test_a_take_is_three_statements_in_the_organizations_lock(engine: AsyncEngine) -> None:
    """Every invitation of an organization waits for its row's lock, so a take holds it for
    as few round trips as it can: the locked row with the time, the invitee's place with the
    place `limit` back, the new place."""
    store = DatabaseInvitationWindows(engine)
    async with store.open("org") as window:  # the first take also sweeps the past places
        await places.take(window, "first", WINDOW_S)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with store.open("org") as window:
            await places.take(window, "second", WINDOW_S)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 3, statements
