"""The watch over a GitHub App's installations the steps wait for: run on the bot's schedule
(`bot.app`), never in a loop.

A step whose organization has no usable installation (the App never installed there, since
uninstalled, or suspended) waits in `awaiting_action` with what a person does about it
(`clients.github.installations`). Nothing tells the bot when that person acted, so each
`check` asks GitHub, with the App's own credential and one call per organization, whether the
installation is usable now; the waiting steps of each organization where it is go back to
pending, due at once, with an audit event each. An organization still waiting costs that one
call and changes nothing: no step is retried and nothing is logged for it, so the wait is said
once (when a step met it), not at every check.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import Course, Step
from provisioning.clock import Clock

log = logging.getLogger(__name__)

# The reasons a step waits for an installation (its `last_error_code`).
NOT_INSTALLED = "github.installation"
SUSPENDED = "github.installation_suspended"
WAITING = (NOT_INSTALLED, SUSPENDED)
ACTOR = "installation-watch"
# How often the bot asks (seconds): a person who just unsuspended the App waits at most this.
CHECK_EVERY_S = 60.0

# Whether the App's installation on the organization is usable now (installed, not suspended).
Usable = Callable[[str], Awaitable[bool]]


class InstallationWatch:
    """Sends back to pending the steps of organizations whose installation became usable."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        usable: Usable,
        clock: Clock,
        *,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._usable = usable
        self._clock = clock
        self._on_change = on_change

    async def check(self) -> int:
        """Ask about each organization steps wait for; the number of steps sent back."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Step.id, Course.github_org)
                    .join(Course, Course.id == Step.course_id)
                    .where(Step.state == "awaiting_action", Step.last_error_code.in_(WAITING))
                )
            ).all()
        by_org: dict[str, list[int]] = defaultdict(list)
        for step_id, org in rows:
            by_org[org.lower()].append(step_id)
        ready: list[int] = []
        for org, steps in by_org.items():
            try:
                if await self._usable(org):
                    ready += steps
            except Exception:
                # GitHub unreachable or refusing the App itself: the next check asks again.
                log.warning("could not check the GitHub App on %s", org, exc_info=True)
        moved = await self._requeue(ready) if ready else 0
        if moved:
            log.info(
                "steps waiting for the GitHub App go on: its installation is usable again",
                extra={"steps": moved},
            )
            self._on_change()
        return moved

    async def _requeue(self, step_ids: list[int]) -> int:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            # Only steps still waiting for it: one a retry or another bot process moved since
            # the read is left as it is.
            moved = (
                await session.execute(
                    update(Step)
                    .where(
                        Step.id.in_(step_ids),
                        Step.state == "awaiting_action",
                        Step.last_error_code.in_(WAITING),
                    )
                    .values(
                        state="pending",
                        # The attempt that met the wait is given back: waiting is no failure.
                        attempts=case((Step.attempts > 0, Step.attempts - 1), else_=0),
                        next_attempt_at=now,
                        updated_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    .returning(Step.course_id, Step.key, Step.last_error_code)
                )
            ).all()
            for course_id, key, reason in moved:
                await audit_chain.append_event(
                    session,
                    at=now,
                    actor=ACTOR,
                    event="github.installation_usable",
                    course_id=course_id,
                    step_key=key,
                    summary={"waited_for": reason},
                )
        return len(moved)
