"""A long queue in one organization (2,000 invitees at the learned limit of 50), on both stores:
the in-memory window (SQLite) and the shared tables (PostgreSQL), with 8 takers at once.

Places are handed out in order, no window of time ever holds more than the limit, a taker asking
again keeps its place, and the status read counts the queue. The documented maximum (10,000) is
measured by `bench/invitations.py`; this keeps the order and the limit exact at a size a test run
affords.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left

from sqlalchemy.ext.asyncio import AsyncEngine

from db.invitation_windows import DatabaseInvitationWindows
from provisioning.github import invitation_window as places
from provisioning.github.invitation_window import NEW_ORG_LIMIT
from provisioning.github.invitations import InvitationStore, MemoryInvitationStore
from tests.fakes.clocks import ManualClock

INVITEES = 2_000
TAKERS = 8
# Long enough that no place of the test leaves the window while it runs (PostgreSQL's clock is
# the server's, real time).
WINDOW_S = 3_600.0
ORG = "Big-Org"


def store_for(engine: AsyncEngine, clock: ManualClock) -> InvitationStore:
    if engine.dialect.name == "postgresql":
        return DatabaseInvitationWindows(engine)
    return MemoryInvitationStore(clock)


async def test_a_long_queue_keeps_order_and_the_limit(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    store = store_for(engine, clock)
    async with store.open(ORG) as window:
        # GitHub refused the first one: the organization's limit is learned as 50.
        await places.refused(window, "nobody", WINDOW_S, probe_s=0.0)
        assert places.current_limit(window) == NEW_ORG_LIMIT

    handed_out: list[tuple[str, float]] = []  # in the order the window gave them

    async def taker(first: int) -> None:
        for i in range(first, INVITEES, TAKERS):
            async with store.open(ORG) as window:
                at = await places.take(window, f"Student{i}", WINDOW_S)
                handed_out.append((f"student{i}", at))

    await asyncio.gather(*(taker(t) for t in range(TAKERS)))

    assert len(handed_out) == INVITEES
    assert len({login for login, _ in handed_out}) == INVITEES
    ats = [at for _, at in handed_out]
    assert ats == sorted(ats), "places are handed out in order"
    # No window [t, t + WINDOW_S) holds more than the limit: the 51st place from any place is
    # a whole window later.
    for i in range(INVITEES - NEW_ORG_LIMIT):
        assert ats[i + NEW_ORG_LIMIT] >= ats[i] + WINDOW_S
        assert bisect_left(ats, ats[i] + WINDOW_S) - i <= NEW_ORG_LIMIT
    # The queue spans the days it needs: 40 windows for 2,000 at 50 a window.
    assert ats[-1] - ats[0] >= (INVITEES // NEW_ORG_LIMIT - 1) * WINDOW_S

    async with store.open(ORG) as window:
        assert await places.take(window, "STUDENT1999", WINDOW_S) == dict(handed_out)["student1999"]
    async with store.open(ORG, lock=False) as window:
        assert await places.sent_in_window(window, WINDOW_S) == NEW_ORG_LIMIT
        assert await places.queued_after(window) == INVITEES - NEW_ORG_LIMIT
        assert await places.next_free(window, WINDOW_S) == ats[-NEW_ORG_LIMIT] + WINDOW_S
