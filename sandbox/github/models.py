"""The GitHub emulator's state; pydantic so that snapshot/restore is one dump/validate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sandbox.github.config import Plan
from sandbox.github.gitobjects import GitObject


class User(BaseModel):
    id: int
    login: str
    name: str | None = None
    created_at: float


class Org(BaseModel):
    id: int
    login: str
    plan: Plan
    created_at: float
    members: dict[str, Literal["admin", "member"]] = Field(default_factory=dict)
    """login → org role; only accepted members."""


class OrgInvitation(BaseModel):
    id: int
    org: str
    login: str
    role: str
    inviter: str
    created_at: float
    team_ids: list[int] = Field(default_factory=list)


class TeamMember(BaseModel):
    role: Literal["member", "maintainer"]
    state: Literal["active", "pending"]


class Team(BaseModel):
    id: int
    org: str
    name: str
    slug: str
    description: str | None = None
    privacy: str = "secret"
    notification_setting: str = "notifications_enabled"
    parent_id: int | None = None
    """The parent team (nested teams); members inherit the parent's repository access."""
    created_at: float
    updated_at: float | None = None
    members: dict[str, TeamMember] = Field(default_factory=dict)
    repos: dict[str, str] = Field(default_factory=dict)
    """repo key (lowercase full name) → permission (pull, triage, push, maintain, admin)."""


class RepoInvitation(BaseModel):
    id: int
    repo: str
    login: str
    inviter: str
    permission: str
    created_at: float


class Ruleset(BaseModel):
    id: int
    body: dict[str, Any]
    created_at: float
    updated_at: float


class PullRequest(BaseModel):
    """A pull request between two branches of one repository (no forks in the sandbox)."""

    id: int
    number: int
    title: str
    body: str | None = None
    head: str
    """The head branch name (without `refs/heads/`)."""
    head_sha: str
    """The head's commit when last seen: what a closed pull request shows once its branch moved."""
    base: str
    user: str
    state: Literal["open", "closed"] = "open"
    draft: bool = False
    maintainer_can_modify: bool = False
    created_at: float
    updated_at: float
    closed_at: float | None = None
    merged_at: float | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None


class Repo(BaseModel):
    id: int
    owner: str
    name: str
    description: str | None = None
    homepage: str | None = None
    private: bool = True
    default_branch: str = "main"
    archived: bool = False
    created_at: float
    updated_at: float
    pushed_at: float | None = None
    topics: list[str] = Field(default_factory=list)
    objects: dict[str, GitObject] = Field(default_factory=dict)
    refs: dict[str, str] = Field(default_factory=dict)
    """full ref name ("refs/heads/main") → commit sha."""
    protection: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """branch → the last PUT body (PUT replaces the whole configuration)."""
    rulesets: dict[int, Ruleset] = Field(default_factory=dict)
    collaborators: dict[str, str] = Field(default_factory=dict)
    pulls: dict[int, PullRequest] = Field(default_factory=dict)
    """number → pull request; numbers count from 1 per repository, as on GitHub."""
    hidden_until: float = 0.0
    hidden_requests: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def key(self) -> str:
        return self.full_name.lower()

    @property
    def empty(self) -> bool:
        return not self.refs


class InstallationToken(BaseModel):
    installation_id: int
    org: str
    app_slug: str
    expires_at: float


class OAuthCode(BaseModel):
    """A code a person granted on the authorize page, waiting to be exchanged (single use)."""

    login: str
    scopes: list[str]
    redirect_uri: str
    expires_at: float


class GitHubState(BaseModel):
    next_id: int = 1000
    users: dict[str, User] = Field(default_factory=dict)
    """lowercase login → user (logins are case-insensitive on GitHub)."""
    orgs: dict[str, Org] = Field(default_factory=dict)
    repos: dict[str, Repo] = Field(default_factory=dict)
    teams: dict[int, Team] = Field(default_factory=dict)
    org_invitations: dict[int, OrgInvitation] = Field(default_factory=dict)
    repo_invitations: dict[int, RepoInvitation] = Field(default_factory=dict)
    tokens: dict[str, str] = Field(default_factory=dict)
    """personal access token → user login."""
    installation_tokens: dict[str, InstallationToken] = Field(default_factory=dict)
    oauth_callback_urls: list[str] = Field(default_factory=list)
    oauth_codes: dict[str, OAuthCode] = Field(default_factory=dict)
    oauth_scopes: dict[str, list[str]] = Field(default_factory=dict)
    """OAuth user token (also in `tokens`, which says whose it is) → the scopes it carries."""
    invitation_log: list[tuple[str, float]] = Field(default_factory=list)
    """(scope, time) of every invitation sent, for the per-24 h limits ("org:x" / "repo:o/r")."""

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id
