"""`email.join`: the personal join e-mail of one person of the roster (students and staff).

Sent once: a success stores the message id and the link's expiry (never the link), and a
re-run of a finished step (a course retry re-verifies everything, a course change touching
the person) sends nothing. It is sent again only on purpose: a re-send sets `resend` in the
step's facts (the reminders, a member of staff) and the next run sends a new edition of the
link.

Delivery is at least once, deliberately (the norm for mail): recording the send before sending
would turn a crash into a message lost without anyone noticing. A crash, or an answer lost on
the way, between the server taking the message and the commit sends it again on the retry.
The Message-ID is made from the course, the step and the edition, and the edition moves on only
with the recorded send, so the retry's copy carries the same Message-ID and mail clients show
one message; its link (same edition, a later expiry) works as well as the first copy's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from jinja2 import Environment

from provisioning.clock import Clock
from provisioning.errors import ActionRequiredError
from provisioning.step import StepContext, StepResult
from provisioning.students.links import JoinLinks
from provisioning.students.mail import MailGateway, OutgoingMail
from provisioning.students.message import JoinInvitation, render

JOIN_EMAIL = "email.join"
NO_MAIL_SERVER = "email.not_configured"


@dataclass(frozen=True)
class JoinEmail:
    """The executor of `email.join`, with the parts it needs bound."""

    mail: MailGateway | None
    links: JoinLinks
    clock: Clock
    templates: Environment
    # The product's address as people reach it (`https://course-bot.example.edu`).
    public_url: str
    link_ttl: timedelta
    # Where Message-IDs live (the sender's domain).
    message_domain: str

    async def ensure(self, ctx: StepContext) -> StepResult:
        edition = int(ctx.facts.get("edition", 0))
        if ctx.external_id is not None and not ctx.facts.get("resend"):
            return StepResult(external_id=ctx.external_id, facts=dict(ctx.facts))
        if self.mail is None:
            raise ActionRequiredError(
                NO_MAIL_SERVER,
                "no e-mail server is configured: set SMTP_HOST and MAIL_FROM, then retry the "
                "course (the join e-mails are sent then)",
            )
        edition += 1
        to = str(ctx.params["to"])
        expires_at = self.clock.now() + self.link_ttl
        token = self.links.sign(ctx.course_id, to, expires_at, edition)
        invitation = JoinInvitation(
            name=str(ctx.params["name"]),
            role=str(ctx.params["role"]),
            group=ctx.params.get("group"),
            link=f"{self.public_url.rstrip('/')}/join/{token}",
            expires_at=expires_at,
        )
        subject, text, html = render(self.templates, ctx.spec, invitation)
        message_id = self._message_id(ctx, edition)
        answer = await self.mail.send(
            OutgoingMail(
                to=to,
                to_name=invitation.name,
                subject=subject,
                text=text,
                html=html,
                message_id=message_id,
            )
        )
        return StepResult(
            external_id=message_id,
            facts={
                "edition": edition,
                "sent_at": self.clock.now().isoformat(),
                "expires_at": expires_at.isoformat(),
                "answer": answer[:200],
            },
        )

    def _message_id(self, ctx: StepContext, edition: int) -> str:
        seed = f"{ctx.course_id}\n{ctx.step.key}\n{edition}".encode()
        return f"<join-{hashlib.sha256(seed).hexdigest()[:32]}@{self.message_domain}>"
