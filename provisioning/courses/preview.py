"""What a new course will create and what it will cost: the preview shown before Confirm.

The slash command, the web page and the API show the same figures, all from the course's plan:
how many resources of each kind, how many calls each platform needs at least, and how long the
rate limits make that take. Calls are the minimum a correct "ensure, not create" makes in a fresh
world (`MIN_CALLS`: the lookup that makes a re-run write nothing, plus the writes); retries and
the pull requests of later changes come on top.

Time: GitHub writes are serial, one per `GovernorLimits.github().write_interval_s` (GitHub's
"at least one second between mutations"); Discord calls go at the governor's pace for one bot.
GitHub starts at once; Discord starts when the course's server is claimed, so the two are shown
separately and the whole takes the larger of them after the claim. GitHub's hourly primary
limit is the credential's (5,000 for a token; an App installation's `X-RateLimit-Limit`, up to
12,500): a plan with more calls than that waits for the next hour once per hour spent. GitHub
allows an organization 500 invitations a day (50 for a young free one): a course that, with
the organization's queue, needs more waits a day for each day's worth (`invitation_notes`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from provisioning.courses.invitation_notes import (
    INVITE_KIND,
    InvitationForecast,
    OrgInvitations,
    forecast,
)
from provisioning.courses.spec import CourseSpec
from provisioning.github.invitation_window import DAY_S
from provisioning.governor import GovernorLimits
from provisioning.plan import PlannedStep, plan_course

# A personal token's hourly limit: what a preview assumes until the credential says otherwise.
TOKEN_HOURLY_LIMIT = 5000
HOUR_S = 3600.0

# Per step kind: (reads, writes) a correct step needs in a fresh world.
MIN_CALLS: dict[str, tuple[int, int]] = {
    "github.team": (1, 1),  # GET team (404); POST team
    # GET team membership (404), GET org membership (404: an invitation to send); PUT membership
    "github.invite": (2, 1),
    "github.repo": (1, 2),  # GET repo (404); POST repo, PUT topics (the marker)
    "github.seed": (2, 3),  # GET branch, GET tree; POST tree, POST commit, PATCH ref
    "github.protection": (1, 1),  # GET protection (404); PUT protection
    "github.access": (1, 1),  # GET team repo (404); PUT team repo
    "discord.server": (2, 0),  # GET guild, GET bot member (permissions of the claimed server)
    "discord.settings": (1, 1),  # GET guild; PATCH guild (name)
    "discord.role": (1, 1),  # GET roles; POST role
    "discord.role-order": (1, 1),  # GET roles (the bot's role is among them); PATCH positions
    "discord.category": (1, 1),  # GET channels; POST channel
    "discord.channel": (1, 1),  # GET channels; POST channel
    "discord.invite": (1, 1),  # GET invites; POST invite
    "discord.member-role": (1, 1),  # GET member; PUT member role
    # GET member: in a new course's server students are not members yet (their invite gives
    # the roles when they join), so nothing is written.
    "discord.student-roles": (1, 0),
}
# The Discord client's own calls when it logs in (GET /users/@me, GET /oauth2/applications/@me).
DISCORD_LOGIN_CALLS = 2

# What a person calls the resources the steps make (one, several), in the order a preview lists
# them.
RESOURCES: dict[str, tuple[str, str]] = {
    "github.repo": ("repository", "repositories"),
    "github.team": ("team", "teams"),
    "github.invite": ("GitHub team invitation", "GitHub team invitations"),
    "github.access": ("team access to a repository", "team accesses to repositories"),
    "github.protection": ("protected branch", "protected branches"),
    "discord.role": ("role", "roles"),
    "discord.category": ("channel category", "channel categories"),
    "discord.channel": ("channel", "channels"),
    "discord.invite": ("invite link", "invite links"),
    "discord.member-role": ("staff member given their role", "staff members given their role"),
    "email.join": ("join e-mail", "join e-mails"),
}


@dataclass(frozen=True)
class CallCount:
    """The minimum calls of a plan on one platform."""

    reads: int
    writes: int

    @property
    def calls(self) -> int:
        return self.reads + self.writes


@dataclass(frozen=True)
class CoursePreview:
    """What Confirm will create, and the least it will take."""

    steps: int
    # Resource name (as in `RESOURCES`, singular for one) → how many; kinds the plan has none
    # of are left out.
    resources: dict[str, int]
    github: CallCount
    discord: CallCount
    # Least time the rate limits allow: GitHub from Confirm, Discord from the claim.
    github_s: float
    discord_s: float
    # Set when the organization's daily invitations cannot hold the course's today.
    invitations: InvitationForecast | None = None

    @property
    def writes(self) -> int:
        return self.github.writes + self.discord.writes


def minimum_calls(plan: Iterable[PlannedStep]) -> dict[str, CallCount]:
    """Per platform (`github`, `discord`): the least reads and writes the plan needs."""
    reads: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    for step in plan:
        platform = step.kind.split(".", 1)[0]
        if platform not in ("github", "discord"):
            continue  # e-mail goes to the course's own mail server: no platform limit
        step_reads, step_writes = MIN_CALLS[step.kind]
        reads[platform] += step_reads
        writes[platform] += step_writes
    reads["discord"] += DISCORD_LOGIN_CALLS
    return {p: CallCount(reads[p], writes[p]) for p in ("github", "discord")}


def preview_course(
    spec: CourseSpec,
    *,
    github: GovernorLimits | None = None,
    discord: GovernorLimits | None = None,
    github_hourly: int | None = None,
    org_invitations: OrgInvitations | None = None,
) -> CoursePreview:
    """The preview of a validated course description (nothing is stored or sent).

    `github_hourly` is the credential's known hourly limit (the governor's `limit("core")`);
    unknown, a token's 5,000. `org_invitations`: the organization's invitation window and
    queue; unknown, a whole day's budget left."""
    github = github or GovernorLimits.github()
    discord = discord or GovernorLimits.discord()
    plan = plan_course(spec)
    kinds = Counter(step.kind for step in plan)
    calls = minimum_calls(plan)
    invitations = forecast(
        spec.github_org,
        kinds[INVITE_KIND],
        org_invitations or OrgInvitations(limit=500, sent=0, queued=0),
    )
    return CoursePreview(
        steps=len(plan),
        resources={
            (one if kinds[kind] == 1 else many): kinds[kind]
            for kind, (one, many) in RESOURCES.items()
            if kinds[kind]
        },
        github=calls["github"],
        discord=calls["discord"],
        github_s=max(
            calls["github"].writes * github.write_interval_s,
            _hours_waited(calls["github"].calls, github_hourly or TOKEN_HOURLY_LIMIT),
            invitations.days * DAY_S if invitations else 0.0,
        )
        / github.scale,
        # Discord paces every call, reads included, at one per `min_interval_s`.
        discord_s=calls["discord"].calls * discord.min_interval_s / discord.scale,
        invitations=invitations,
    )


def unknown_hourly_limit(org: str) -> int | None:
    """No credential known (tests of the adapters): the preview assumes a token's 5,000."""
    return None


def _hours_waited(calls: int, hourly: int) -> float:
    """The least time `calls` take under an hourly limit: a full window per limit spent
    before the last call."""
    return (math.ceil(calls / hourly) - 1) * HOUR_S if calls else 0.0
