"""What people are told about GitHub's daily organization invitations, before and during.

Before Confirm (the preview): when a course, with what the organization's other courses still
have queued, needs more invitations than the organization's daily budget has left, how many
and about how long after the first the last goes out. During (the status summary): how many of
the course's invitations wait for the window, and when the last is due.

Every invitation step is counted as one invitation: people already in the organization cost
none, so the figures are an upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, Step
from provisioning.github.invitations import NEXT_GOES, InvitationBudget

INVITE_KIND = "github.invite"


class StepLike(Protocol):
    """What `waiting_among` reads of a step (`provisioning.courses.views.StepStatus`)."""

    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def last_error_code(self) -> str | None: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class OrgInvitations:
    """An organization's invitations as the preview needs them."""

    limit: int  # GitHub's daily limit, as far as known (500 until learned)
    sent: int  # in the current window
    queued: int  # invitation steps of its courses not run yet (or waiting for the window)


async def nothing_known(org: str) -> OrgInvitations:
    """No budget known (tests of the adapters): an organization with its whole day ahead."""
    return OrgInvitations(limit=500, sent=0, queued=0)


@dataclass(frozen=True)
class InvitationForecast:
    """A course's invitations, with the organization's queue, over its daily budget."""

    org: str
    invitations: int
    limit: int
    sent: int  # by the organization in the current window, before these
    days: int  # the last goes about so many days after the window's first

    @property
    def message(self) -> str:
        days = f"{self.days} day{'s' if self.days != 1 else ''}"
        head = f"{self.invitations} invitations to {self.org}: GitHub allows {self.limit} a day"
        if not self.sent:
            return f"{head}, the last about {days} after the first"
        return f"{head} and {self.sent} went in the last one, the last about {days} from now"


def forecast(org: str, course_invitations: int, known: OrgInvitations) -> InvitationForecast | None:
    """None when the day's budget left holds the course's invitations and the queue's."""
    wanted = course_invitations + known.queued
    if not course_invitations or wanted <= known.limit - known.sent:
        return None
    days = max(1, math.ceil((known.sent + wanted) / known.limit) - 1)
    return InvitationForecast(org, wanted, known.limit, known.sent, days)


@dataclass(frozen=True)
class InvitationsWaiting:
    """A course's invitations waiting for the organization's window (status summary)."""

    count: int
    last_at: datetime  # when the last of them is due

    @property
    def lead(self) -> str:
        """The message without its time: each place shows the time its own way (the page in
        the reader's time zone, a Discord reply as a timestamp Discord shows in the reader's)."""
        many = "s wait" if self.count != 1 else " waits"
        return (
            f"{self.count} GitHub invitation{many} for the organization's daily limit; "
            "the last goes about"
        )

    @property
    def message(self) -> str:
        """With the time in UTC: for the REST API and logs, whose reader's zone is unknown."""
        return f"{self.lead} {self.last_at.strftime('%d %b %H:%M UTC').lstrip('0')}"


async def invitations_waiting(
    session: AsyncSession, course_id: str, wait_code: str
) -> InvitationsWaiting | None:
    """The course's invitation steps sent back to wait for the window (`wait_code`)."""
    count, last = (
        await session.execute(
            select(func.count(), func.max(Step.next_attempt_at)).where(
                Step.course_id == course_id,
                Step.state == "pending",
                Step.kind == INVITE_KIND,
                Step.last_error_code == wait_code,
            )
        )
    ).one()
    return InvitationsWaiting(count, last) if count and last is not None else None


class OrgInvitationLookup:
    """`OrgInvitations` from the budget (the window) and the database (the queue)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], budget: InvitationBudget
    ) -> None:
        self._sessions = sessions
        self._budget = budget

    async def __call__(self, org: str) -> OrgInvitations:
        outlook = await self._budget.outlook(org)
        async with self._sessions() as session:
            queued = await session.scalar(
                select(func.count())
                .select_from(Step)
                .join(Course, Course.id == Step.course_id)
                .where(
                    func.lower(Course.github_org) == org.lower(),
                    Step.kind == INVITE_KIND,
                    Step.state.in_(("pending", "running")),
                )
            )
        return OrgInvitations(limit=outlook.limit, sent=outlook.sent, queued=queued or 0)


def waiting_among(steps: Iterable[StepLike], wait_code: str) -> InvitationsWaiting | None:
    """The same, from steps already read (a page that reads every step)."""
    due = [
        s.next_attempt_at
        for s in steps
        if s.kind == INVITE_KIND
        and s.state == "pending"
        and s.last_error_code == wait_code
        and s.next_attempt_at is not None
    ]
    return InvitationsWaiting(len(due), max(due)) if due else None


def wait_reason(message: str) -> str:
    """A step's invitation-limit wait message (`InvitationBudget.refused`) without the time
    the next invitation goes: the page shows that time from the step's `next_attempt_at`, in
    the reader's time zone."""
    return message.split(NEXT_GOES, 1)[0]
