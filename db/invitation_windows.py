"""GitHub organizations' invitation windows on PostgreSQL: a row per organization, a row per place.

Every runner process takes its invitations' places under the organization's row lock
(`SELECT … FOR UPDATE`, one short transaction), so two processes never hand out more places than
the window has. The row holds only the small state (the limit learned, until when a refusal
closed the window); the places are rows of `invitation_places`, read through the (org, at) index:
the place `limit` back is one `ORDER BY at DESC OFFSET limit-1 LIMIT 1`, past places go by a
range delete, so a take costs the same with 10 or 10,000 invitees queued. The decisions are the
domain's (`provisioning.github.invitation_window`), at the database server's clock, the one
clock every process shares. SQLite deployments are one process and keep the windows in memory
(`provisioning.github.invitation_places`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import Float, Select, delete, func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import InvitationPlace, InvitationWindowRow

_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
_NOW = text(f"SELECT {_CLOCK}")
# A window no organization has yet: GitHub's default limit, open (the domain's DEFAULT_LIMIT).
_NEW_LIMIT = 500
# Past places are deleted at one take in this many of an organization (in each process): the
# range delete is cheap but a round trip, and a lingering past place changes no answer.
_SWEEP_EVERY = 64


@dataclass
class DatabaseWindow:
    """One organization's window inside a transaction (the domain's `OpenWindow`)."""

    conn: AsyncConnection
    org: str
    now: float
    limit: int
    limit_until: float
    closed_until: float
    sweep: bool = False  # this take deletes the past places

    async def held_and_latest(
        self, login: str, after: float, n: int
    ) -> tuple[float | None, float | None]:
        # Both look-ups in one statement: a round trip less inside the organization's lock.
        held = (
            select(InvitationPlace.at)
            .where(
                InvitationPlace.org == self.org,
                InvitationPlace.login == login,
                InvitationPlace.at > after,
            )
            .scalar_subquery()
        )
        row = (await self.conn.execute(select(held, self._latest(n).scalar_subquery()))).one()
        return _seconds(row[0]), _seconds(row[1])

    async def latest(self, n: int, at_most: float | None = None) -> float | None:
        return _seconds(await self.conn.scalar(self._latest(n, at_most)))

    def _latest(self, n: int, at_most: float | None = None) -> Select[float]:
        query = select(InvitationPlace.at).where(InvitationPlace.org == self.org)
        if at_most is not None:
            query = query.where(InvitationPlace.at <= at_most)
        return query.order_by(InvitationPlace.at.desc()).offset(n - 1).limit(1)

    async def count(self, after: float, at_most: float | None = None) -> int:
        query = (
            select(func.count())
            .select_from(InvitationPlace)
            .where(InvitationPlace.org == self.org, InvitationPlace.at > after)
        )
        if at_most is not None:
            query = query.where(InvitationPlace.at <= at_most)
        return int(await self.conn.scalar(query) or 0)

    async def add(self, login: str, at: float) -> None:
        statement = insert(InvitationPlace).values(org=self.org, login=login, at=at)
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["org", "login"], set_={"at": statement.excluded.at}
            )
        )

    async def remove(self, login: str) -> None:
        await self.conn.execute(
            delete(InvitationPlace).where(
                InvitationPlace.org == self.org, InvitationPlace.login == login
            )
        )

    async def forget_until(self, at: float) -> None:
        if not self.sweep:
            return
        await self.conn.execute(
            delete(InvitationPlace).where(InvitationPlace.org == self.org, InvitationPlace.at <= at)
        )

    async def forget_after(self, at: float) -> None:
        await self.conn.execute(
            delete(InvitationPlace).where(InvitationPlace.org == self.org, InvitationPlace.at > at)
        )

    def state(self) -> tuple[int, float, float]:
        return self.limit, self.limit_until, self.closed_until


def _seconds(at: float | None) -> float | None:
    return None if at is None else float(at)


def _window_query(org: str, lock: bool) -> Select[int, float, float, float]:
    """The organization's row, locked (`lock`), with the database's time read after the lock
    is held: a taker that waited for it sees the time it got it. The row is locked in a
    sub-select, the time read in the outer one, whose columns are computed only once the
    sub-select has handed over the locked row: one round trip, inside the lock, not two."""
    window = select(
        InvitationWindowRow.limit,
        InvitationWindowRow.limit_until,
        InvitationWindowRow.closed_until,
    ).where(InvitationWindowRow.org == org)
    if lock:
        window = window.with_for_update()
    row = window.subquery("w")
    return select(row.c.limit, row.c.limit_until, row.c.closed_until, literal_column(_CLOCK, Float))


class DatabaseInvitationWindows:
    """The windows every process shares (the domain's `InvitationStore`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._opened: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def open(self, org: str, *, lock: bool = True) -> AsyncIterator[DatabaseWindow]:
        key = org.lower()
        query = _window_query(key, lock)
        async with self._engine.begin() as conn:
            row = (await conn.execute(query)).one_or_none()
            if row is None and lock:
                # The row exists but for an organization's first take: locked at once then.
                await conn.execute(
                    insert(InvitationWindowRow)
                    .values(org=key, limit=_NEW_LIMIT, limit_until=0.0, closed_until=0.0)
                    .on_conflict_do_nothing(index_elements=["org"])
                )
                row = (await conn.execute(query)).one()
            if row is None:  # a read of an organization never invited to
                limit, limit_until, closed_until = _NEW_LIMIT, 0.0, 0.0
                now = float((await conn.execute(_NOW)).scalar_one())
            else:
                limit, limit_until, closed_until, now = row
            opened = self._opened[key] = self._opened.get(key, 0) + 1
            window = DatabaseWindow(conn, key, now, limit, limit_until, closed_until)
            window.sweep = lock and opened % _SWEEP_EVERY == 1
            before = window.state()
            yield window
            if lock and window.state() != before:
                await conn.execute(
                    update(InvitationWindowRow)
                    .where(InvitationWindowRow.org == key)
                    .values(
                        limit=window.limit,
                        limit_until=window.limit_until,
                        closed_until=window.closed_until,
                    )
                )
