"""The scheduled reminders: a join e-mail again for people who did nothing after N days, and
the GitHub invitations of people who did not accept within GitHub's 7 days sent again.

Both are steps sent back to pending, so the runner does the work as always (persisted, retried,
audited): a join e-mail step with `resend` in its facts sends a new edition of the link, and an
invitation step re-run finds the lapsed membership gone and invites again (PLATFORM.md §2.10).
Each reminder is an audit event. A step is reminded once per period: its last success (the
e-mail's `sent_at`, the invitation step's last run) starts the next one.

Before that, the pending invitations are read live from GitHub (`invitation_states`): accepted
ones are recorded as such, lapsed ones sent again at once; only steps GitHub could not be read
for fall back to the 7-day timer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import RosterLink, Step
from provisioning.github.gateway import GitHubGateways
from provisioning.students import invitation_states
from provisioning.students.invitation_states import Checked

log = logging.getLogger(__name__)
ACTOR = "reminders"
# GitHub's org invitations lapse after 7 days (PLATFORM.md §2.5).
INVITATION_TTL = timedelta(days=7)
# Join e-mails sent at most this many times in all (the first and two reminders).
MAX_EDITIONS = 3


@dataclass(frozen=True)
class Reminded:
    """The steps a round sent back, as (course id, step key)."""

    emails: list[tuple[str, str]]
    invitations: list[tuple[str, str]]


class Reminders:
    """One round finds who is due a reminder and sends their steps back to the runner."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        person_of: Callable[[str], str],
        on_change: Callable[[], None],
        email_after: timedelta,
        github: GitHubGateways | None = None,
    ) -> None:
        self._sessions = sessions
        self._person_of = person_of
        self._on_change = on_change
        self._email_after = email_after
        self._github = github

    async def run(self, now: datetime) -> Reminded:
        checked: list[Checked] = []
        if self._github is not None:
            async with self._sessions() as session:
                rows = await invitation_states.pending_steps(session)
            # No transaction is held while GitHub answers.
            checked = await invitation_states.check(self._github, rows, ACTOR)
        async with self._sessions.begin() as session:
            emails = await self._emails(session, now)
            invitations = await self._record(session, now, checked)
            read = {c.step_id for c in checked}
            invitations += await self._invitations(session, now, read)
        if emails or invitations:
            log.info(
                "reminders sent back to the runner",
                extra={"emails": len(emails), "invitations": len(invitations)},
            )
            self._on_change()
        return Reminded(emails, invitations)

    async def _emails(self, session: AsyncSession, now: datetime) -> list[tuple[str, str]]:
        steps = (
            await session.scalars(
                select(Step).where(Step.kind == "email.join", Step.state == "succeeded")
            )
        ).all()
        linked = {
            (course_id, person)
            for course_id, person in (
                await session.execute(select(RosterLink.course_id, RosterLink.person))
            ).all()
        }
        due = []
        for step in steps:
            facts = step.facts or {}
            sent_at = _when(facts.get("sent_at"))
            if sent_at is None or now - sent_at < self._email_after:
                continue
            if int(facts.get("edition", 1)) >= MAX_EDITIONS:
                continue
            if (step.course_id, self._person_of(str(step.params["to"]))) in linked:
                continue  # they came by: nothing to remind them of
            due.append(step)
        reminded = []
        for step in due:
            if await self._send_back(session, step, now, {**(step.facts or {}), "resend": True}):
                await self._event(
                    session, now, step, "reminder.join_email", {"to": step.params["to"]}
                )
                reminded.append((step.course_id, step.key))
        return reminded

    async def _record(
        self, session: AsyncSession, now: datetime, checked: list[Checked]
    ) -> list[tuple[str, str]]:
        """Write what GitHub said into the steps; send lapsed invitations back at once."""
        reminded = []
        for found in checked:
            facts = {**found.facts, "state": found.state, "checked_at": now.isoformat()}
            if found.state != "expired":
                await session.execute(
                    update(Step)
                    .where(
                        Step.id == found.step_id,
                        Step.state == "succeeded",
                        Step.updated_at == found.updated_at,
                    )
                    .values(facts=facts)
                    .execution_options(synchronize_session=False)
                )
                continue
            step = await session.get(Step, found.step_id)
            if step is None or step.updated_at != found.updated_at:
                continue  # the runner ran it since: its own answer is newer
            if await self._send_back(session, step, now, facts):
                await self._event(
                    session, now, step, "reminder.github_invitation", {"login": found.login}
                )
                reminded.append((step.course_id, step.key))
        return reminded

    async def _invitations(
        self, session: AsyncSession, now: datetime, read: set[int]
    ) -> list[tuple[str, str]]:
        steps = (
            await session.scalars(
                select(Step).where(
                    Step.kind == "github.invite",
                    Step.state == "succeeded",
                    Step.updated_at <= now - INVITATION_TTL,
                )
            )
        ).all()
        reminded = []
        for step in steps:
            if step.id in read or (step.facts or {}).get("state") != "pending":
                continue
            if await self._send_back(session, step, now, step.facts or {}):
                login = step.params["login"]
                await self._event(
                    session, now, step, "reminder.github_invitation", {"login": login}
                )
                reminded.append((step.course_id, step.key))
        return reminded

    async def _send_back(
        self, session: AsyncSession, step: Step, now: datetime, facts: dict[str, Any]
    ) -> bool:
        result = await session.execute(
            update(Step)
            .where(Step.id == step.id, Step.state == "succeeded")
            .values(
                state="pending",
                attempts=0,
                next_attempt_at=now,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
                facts=facts,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _event(
        self, session: AsyncSession, now: datetime, step: Step, event: str, summary: dict[str, Any]
    ) -> None:
        await audit_chain.append_event(
            session,
            at=now,
            actor=ACTOR,
            event=event,
            course_id=step.course_id,
            step_key=step.key,
            summary=summary,
        )


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
