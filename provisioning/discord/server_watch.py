"""The watch over the bot's server count: run on the bot's schedule (`bot.app`), never in a loop.

Each `check` reads the count (the gateway's guild list, or the REST list when the gateway is not
connected), keeps it for the course status (`notice`) and `/metrics`, and then:

- sends back to pending the `discord.server` steps whose wait no longer matches the count:
  waiting for a claim (or for the bot to be added again) while the bot is at the cap, so they
  say why they cannot go on; waiting for the cap (`CAP_REASON`) once the count is under it, so
  they go on by themselves. Each step moved is an audit event;
- tells the course log once when the count reaches `WARN_AT` (a `BotNotice` row, taken before
  the message is sent and given back if it could not be, so restarts and several bots post it
  once); the row goes when the count is back under `WARN_AT`, so the next crossing is told too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import BotNotice, Step
from provisioning.claims.codes import SERVER_STEP
from provisioning.clock import Clock
from provisioning.discord.server_count import CAP_REASON, ServerCount

log = logging.getLogger(__name__)

NEAR_CAP_NOTICE = "discord.servers_near_cap"
# What an unclaimed (or bot-less) server step waits with below the cap (`steps/server.py`).
_WAITING_FOR_A_PERSON = ("discord.claim", "discord.bot_missing")
ACTOR = "server-count"

# Post the notice to the course log; False when it could not be posted (no channel yet).
Announce = Callable[[ServerCount], Awaitable[bool]]


class ServerCountWatch:
    """Holds the last count read and acts on it; one per bot process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        source: Callable[[], Awaitable[ServerCount]],
        clock: Clock,
        *,
        gauges: Callable[[ServerCount], None] = lambda servers: None,
        on_change: Callable[[], None] = lambda: None,
        announce: Announce | None = None,
    ) -> None:
        self._sessions = sessions
        self._source = source
        self._clock = clock
        self._gauges = gauges
        self._on_change = on_change
        self._announce = announce
        self.latest: ServerCount | None = None

    def notice(self) -> ServerCount | None:
        """The last count read when it is near the cap (what a course status warns with)."""
        latest = self.latest
        return latest if latest is not None and latest.near_cap else None

    async def check(self) -> ServerCount:
        """Read the count and act on it (see the module docstring)."""
        servers = await self._source()
        self.latest = servers
        self._gauges(servers)
        if await self._requeue(servers):
            self._on_change()
        await self._tell(servers)
        return servers

    async def _requeue(self, servers: ServerCount) -> int:
        stale = _WAITING_FOR_A_PERSON if servers.at_cap else (CAP_REASON,)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            waiting = select(Step.id, Step.course_id).where(
                Step.key == SERVER_STEP,
                Step.state == "awaiting_action",
                Step.last_error_code.in_(stale),
            )
            rows = (await session.execute(waiting)).all()
            if not rows:
                return 0
            await session.execute(
                update(Step)
                .where(Step.id.in_([row.id for row in rows]), Step.state == "awaiting_action")
                .values(
                    state="pending",
                    next_attempt_at=now,
                    updated_at=now,
                    attempts=0,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            for row in rows:
                await audit_chain.append_event(
                    session,
                    at=now,
                    actor=ACTOR,
                    event="discord.server_count_changed",
                    course_id=row.course_id,
                    step_key=SERVER_STEP,
                    summary={"count": servers.count, "limit": servers.limit},
                )
        log.info(
            "server steps re-checked after the bot's server count changed",
            extra={"steps": len(rows), "count": servers.count, "limit": servers.limit},
        )
        return len(rows)

    async def _tell(self, servers: ServerCount) -> None:
        if not servers.near_cap:
            async with self._sessions.begin() as session:
                if await session.get(BotNotice, NEAR_CAP_NOTICE) is not None:
                    await session.execute(
                        delete(BotNotice).where(BotNotice.name == NEAR_CAP_NOTICE)
                    )
            return
        if self._announce is None:
            return
        try:
            async with self._sessions.begin() as session:
                if await session.get(BotNotice, NEAR_CAP_NOTICE) is not None:
                    return
                session.add(BotNotice(name=NEAR_CAP_NOTICE, posted_at=self._clock.now()))
        except IntegrityError:
            return  # another bot process took it between the read and the insert
        posted = False
        try:
            posted = await self._announce(servers)
        finally:
            if not posted:
                # Not told (no channel yet, or the send failed): the next check tries again.
                async with self._sessions.begin() as session:
                    await session.execute(
                        delete(BotNotice).where(BotNotice.name == NEAR_CAP_NOTICE)
                    )
