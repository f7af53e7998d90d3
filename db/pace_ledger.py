"""The pace ledger on PostgreSQL: every process reserves call slots from one table.

One statement per reservation: an upsert that moves the account's next free slot on by the
spacing and returns the slot it took, atomic under the row's lock (held until the commit, a
millisecond). Times are on the database server's clock, the one clock every process shares;
only the wait (a difference) leaves the database. SQLite deployments are one process and keep
the ledger in memory (`provisioning.pace.MemoryPaceLedger`).
"""

from __future__ import annotations

from sqlalchemy import Float, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

# clock_timestamp(), not now(): a reservation that waited for the row's lock must count from
# when it got the row, or it would hand out a slot already past. The clock is the
# database's, not a parameter. The upsert creates the row on the first reservation.
_RESERVE = text(
    """
    INSERT INTO pace_accounts AS a (account, next_at)
    VALUES (:account, EXTRACT(EPOCH FROM clock_timestamp())::float8 + :interval)
    ON CONFLICT (account) DO UPDATE
    SET next_at = GREATEST(a.next_at, EXTRACT(EPOCH FROM clock_timestamp())::float8)
        + :interval
    RETURNING a.next_at - :interval - EXTRACT(EPOCH FROM clock_timestamp())::float8
    """
).bindparams(bindparam("interval", type_=Float))
_HOLD = text(
    """
    INSERT INTO pace_accounts AS a (account, next_at)
    VALUES (:account, EXTRACT(EPOCH FROM clock_timestamp())::float8 + :seconds)
    ON CONFLICT (account) DO UPDATE
    SET next_at = GREATEST(a.next_at, EXTRACT(EPOCH FROM clock_timestamp())::float8 + :seconds)
    """
).bindparams(bindparam("seconds", type_=Float))


class DatabasePaceLedger:
    """A `PaceLedger` (provisioning/pace.py) shared by every process on this database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def reserve(self, account: str, interval_s: float) -> float:
        async with self._engine.begin() as conn:
            wait = (
                await conn.execute(_RESERVE, {"account": account, "interval": interval_s})
            ).scalar_one()
        return max(0.0, float(wait))

    async def hold(self, account: str, seconds: float) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_HOLD, {"account": account, "seconds": seconds})
