"""A stored course-log message posted once: the row is claimed (its `posted_at` set) in a
transaction of its own, then sent, and given back when sending fails, so the next round tries
again. Several bot processes claim the same row once between them (the update's condition).

Sending outside the transaction: inside it, SQLite's one write lock would be held while the
send's own audit row waits for it. So a crash between the claim and the send loses that one
message rather than ever posting it twice (its record, the audit log, stays).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import DriftMessage, StaffNotice

# The tables of such messages: an integer `id` and a nullable `posted_at`.
Posted = type[StaffNotice] | type[DriftMessage]


async def claim_then_send(
    sessions: async_sessionmaker[AsyncSession],
    table: Posted,
    row_id: int,
    at: datetime,
    send: Callable[[], Awaitable[None]],
) -> bool:
    """Claim row `row_id` of `table` at `at`, then `send` it; False if another round (or bot)
    claimed it already."""
    async with sessions.begin() as session:
        claimed = await session.execute(
            update(table).where(table.id == row_id, table.posted_at.is_(None)).values(posted_at=at)
        )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    try:
        await send()
    except BaseException:
        async with sessions.begin() as session:
            await session.execute(update(table).where(table.id == row_id).values(posted_at=None))
        raise
    return True
