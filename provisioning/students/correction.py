"""Correcting a mistyped roster login from the join page: what the old login was sent, and
turning its removal into a withdrawal.

The roster's login may be somebody else's real account, invited already. The correction is a
course change like any other (`CourseService.update`): the old login's `github.invite` step is
retired and the verified login's is planned. Here the retired step is marked `mistyped`, in the
update's own transaction, so that its removal (`provisioning.github.steps.uninvite`) cancels the
pending organization invitation instead of treating the account as a person who left, and the
safety limit on dropped students does not count it (nobody is dropped: one login is fixed).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Course, Member, Step
from provisioning.courses.change_preview import ChangePreview
from provisioning.courses.service import UpdateInTransaction
from provisioning.courses.views import CourseUpdate
from provisioning.github.gateway import GitHubGateway
from provisioning.students.roster_status import invite_key


@dataclass(frozen=True)
class SentInvitation:
    """The old login's invitation step: the team it is for and whether this course sent the
    organization invitation."""

    key: str
    org: str
    team: str
    invited_org: bool


async def sent_invitation(
    session: AsyncSession, course_id: str, member_id: int
) -> SentInvitation | None:
    """The person's invitation step if it may have reached GitHub (sent, or tried)."""
    member = await session.get(Member, member_id)
    kind = await session.scalar(select(Course.kind).where(Course.id == course_id))
    if member is None or kind is None:
        return None
    key = invite_key(member, kind == "laboratory")
    step = await session.scalar(select(Step).where(Step.course_id == course_id, Step.key == key))
    if step is None or step.kind != "github.invite":
        return None
    facts = step.facts or {}
    touched = step.external_id is not None or step.state == "succeeded" or step.attempts > 0
    if not touched or not facts.get("team"):
        return None
    return SentInvitation(
        key, str(step.params["org"]), str(facts["team"]), bool(facts.get("invited_org"))
    )


async def accepted(github: GitHubGateway, sent: SentInvitation, login: str) -> bool:
    """Whether `login` is in the team already (accepted, or was an organization member)."""
    membership = await github.get_team_membership(sent.org, sent.team, login)
    return membership is not None and membership.state == "active"


def only_the_old_login_goes(preview: ChangePreview, old_key: str | None) -> list[str]:
    """The removals of a correction other than the old login's invitation (none expected)."""
    return [
        r.key
        for r in preview.resources
        if r.change == "removed" and r.removal is not None and r.key != old_key
    ]


def mark_withdrawal(
    course_id: str, sent: SentInvitation, old_login: str, new_login: str, person: str
) -> UpdateInTransaction:
    """The `within` of the correcting update: the retired step withdraws, never removes."""

    async def within(session: AsyncSession, outcome: CourseUpdate) -> None:
        if sent.key not in outcome.retired:
            return
        row = await session.scalar(
            select(Step).where(Step.course_id == course_id, Step.key == sent.key)
        )
        if row is None:
            return
        # Another course of the organization listing the same login wants its invitation.
        others = await session.scalar(
            select(func.count())
            .select_from(Member)
            .join(Course, Course.id == Member.course_id)
            .where(
                func.lower(Course.github_org) == sent.org.lower(),
                Member.github_lower == old_login.lower(),
                Member.course_id != course_id,
            )
        )
        row.params = {
            **row.params,
            "leave_org": False,
            "mistyped": True,
            "cancel_invitation": sent.invited_org and not others,
            "corrected_to": new_login,
            "person": person,
        }

    return within
