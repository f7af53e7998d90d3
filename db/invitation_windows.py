"""GitHub organizations' invitation windows on PostgreSQL: one row per organization.

Every runner process takes its invitations' places from the organization's row: the row is
locked (`SELECT … FOR UPDATE`) for the read, the change and the write, one short transaction,
so two processes never hand out more places than the window has. The change itself is the
domain's (`provisioning.github.invitation_window`), applied to the row's JSON document at the
database server's clock, the one clock every process shares. SQLite deployments are one process
and keep the windows in memory (`provisioning.github.invitations.MemoryInvitationStore`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import InvitationWindowRow

R = TypeVar("R")
_NOW = text("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")


class DatabaseInvitationWindows:
    """The windows as JSON documents; `change` gets and returns the document's dict."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def change(
        self, org: str, change: Callable[[dict[str, Any], float], tuple[R, dict[str, Any]]]
    ) -> R:
        key = org.lower()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(InvitationWindowRow)
                .values(org=key, state={})
                .on_conflict_do_nothing(index_elements=["org"])
            )
            state = (
                await conn.execute(
                    select(InvitationWindowRow.state)
                    .where(InvitationWindowRow.org == key)
                    .with_for_update()
                )
            ).scalar_one()
            now = float((await conn.execute(_NOW)).scalar_one())
            result, changed = change(dict(state), now)
            if changed != state:
                await conn.execute(
                    update(InvitationWindowRow)
                    .where(InvitationWindowRow.org == key)
                    .values(state=changed)
                )
            return result
