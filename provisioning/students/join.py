"""The join page's service: a personal link → the course, the person, what is done and left.

The link is checked first (signature, expiry), then against the stored course: the person must
still be on its roster with the address the link was made for, and the link must be the latest
one sent to them (a re-sent link replaces the older ones). Reading the page changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, Member, Step
from provisioning.clock import Clock
from provisioning.students.links import JoinClaim, JoinLinkError, JoinLinks
from provisioning.students.roster_status import PersonStatus, RosterStatusService, email_key


@dataclass(frozen=True)
class JoinView:
    """What the join page shows one person."""

    course_id: str
    code: str
    title: str
    term: str
    github_org: str
    person: PersonStatus
    claim: JoinClaim
    # The course's Discord server is bound (claimed): joining it is possible.
    discord_ready: bool
    # Where the person accepts the GitHub organization's invitation, while one is pending.
    github_invitation_url: str | None


class JoinService:
    """Answers the join page; later, the sign-ins it starts."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        links: JoinLinks,
        clock: Clock,
        roster: RosterStatusService,
        github_web_url: str,
    ) -> None:
        self._sessions = sessions
        self._links = links
        self._clock = clock
        self._roster = roster
        self._github_web_url = github_web_url.rstrip("/")

    async def view(self, token: str) -> JoinView:
        """The page of a valid link, or `JoinLinkError` saying, for a person, why not."""
        claim = self._links.check(token, self._clock.now())
        async with self._sessions() as session:
            course = await session.get(Course, claim.course_id)
            if course is None:
                raise JoinLinkError(
                    "other_course", "This join link belongs to a course that does not exist here."
                )
            member = await self._member(session, claim)
            edition = await self._edition(session, claim.course_id, member)
            server = await session.scalar(
                select(Step.external_id).where(
                    Step.course_id == claim.course_id,
                    Step.key == "discord.server",
                    Step.state == "succeeded",
                )
            )
        if edition is not None and claim.edition < edition:
            raise JoinLinkError(
                "superseded",
                "A newer join link was sent to you since this one: use the link in the latest "
                f"e-mail about {course.code}.",
            )
        person = await self._roster.person(course.id, member.id)
        invitation = None
        if person.github_state == "invitation_pending":
            invitation = f"{self._github_web_url}/orgs/{course.github_org}/invitation"
        return JoinView(
            course_id=course.id,
            code=course.code,
            title=course.title,
            term=course.term,
            github_org=course.github_org,
            person=person,
            claim=claim,
            discord_ready=server is not None,
            github_invitation_url=invitation,
        )

    async def _member(self, session: AsyncSession, claim: JoinClaim) -> Member:
        members = (
            await session.scalars(
                select(Member).where(Member.course_id == claim.course_id, Member.email.is_not(None))
            )
        ).all()
        for member in members:
            if member.email and self._links.person(member.email) == claim.person:
                return member
        raise JoinLinkError(
            "not_on_roster",
            "This join link was made for someone who is no longer on the course's roster "
            "(or whose e-mail address changed). Ask your course staff.",
        )

    async def _edition(self, session: AsyncSession, course_id: str, member: Member) -> int | None:
        if member.email is None:
            return None
        facts = await session.scalar(
            select(Step.facts).where(
                Step.course_id == course_id, Step.key == email_key(member.email)
            )
        )
        return int(facts["edition"]) if facts and "edition" in facts else None
