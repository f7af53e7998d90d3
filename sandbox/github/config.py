"""The GitHub emulator's starting world and limits; tests pass their own `GitHubWorld`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# "enterprise": an organization on GitHub Enterprise Cloud (its App installations get 15,000/h).
Plan = Literal["free", "team", "enterprise"]


class OrgSpec(BaseModel):
    login: str
    plan: Plan = "team"
    owners: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)


class Suspension(BaseModel):
    """An installation suspended: when, by whom (a login), and whether by the App's owner
    (through the API: only they can unsuspend it) or by an owner of the account (its settings)."""

    at: float
    by: str
    by_app_owner: bool


class AppSpec(BaseModel):
    """A GitHub App: JWTs whose `iss` is `app_id` may mint tokens for these installations."""

    app_id: int
    slug: str = "course-bot"
    installations: dict[int, str] = Field(default_factory=dict)
    """installation id → org login; an org not listed has no installation of this App."""
    suspended: dict[int, Suspension] = Field(default_factory=dict)
    """installation id → its suspension; a suspended installation mints no token."""


class OAuthAppSpec(BaseModel):
    """The OAuth app people sign in with ("Sign in with GitHub"); its id and secret are
    documented sandbox values, shown by `GET /_sandbox/github/oauth-app`."""

    client_id: str = "Ov23liSandboxCourseBot"
    client_secret: str = "sandbox-github-client-secret"  # noqa: S105 - documented, like the token
    name: str = "Course Bot"
    callback_urls: list[str] = Field(default_factory=list)
    """Registered callback URLs (loopback ones are always accepted in the sandbox)."""


class Limits(BaseModel):
    """Limits as GitHub documents them today (PLATFORM.md §2.5, §2.8), before rate_scale."""

    primary_per_hour: int = 5000
    """A personal token's (and an App's own JWT's) hourly limit."""
    installation_min_per_hour: int = 5000
    installation_max_per_hour: int = 12500
    installation_enterprise_per_hour: int = 15000
    content_per_minute: int = 80
    content_per_hour: int = 500
    concurrent_requests: int = 100
    repo_invitations_per_day: int = 50
    org_invitations_per_day_free: int = 50
    org_invitations_per_day_paid: int = 500
    installation_token_ttl: float = 3600.0
    org_invitation_ttl: float = 7 * 24 * 3600.0
    """"All invitations expire after 7 days" (PLATFORM.md §2.5)."""


class Consistency(BaseModel):
    """Eventual consistency after creates: the new repo answers 404 for a while (0 = off)."""

    hidden_seconds: float = 0.0
    hidden_requests: int = 0


class GitHubWorld(BaseModel):
    """Everything the emulator starts from on start and on reset."""

    users: list[str] = Field(
        default_factory=lambda: ["demo-admin", "ada", "grace", "bob-b", "carol-c", "dave-d"]
    )
    orgs: list[OrgSpec] = Field(
        default_factory=lambda: [
            OrgSpec(login="demo-university", plan="team", owners=["demo-admin"]),
            OrgSpec(login="demo-free", plan="free", owners=["demo-admin"]),
        ]
    )
    tokens: dict[str, str] = Field(default_factory=lambda: {"sandbox-github-token": "demo-admin"})
    """token → user login."""
    apps: list[AppSpec] = Field(
        default_factory=lambda: [AppSpec(app_id=1, installations={100: "demo-university"})]
    )
    oauth_app: OAuthAppSpec = Field(default_factory=OAuthAppSpec)
    limits: Limits = Field(default_factory=Limits)
    consistency: Consistency = Field(default_factory=Consistency)
