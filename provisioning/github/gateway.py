"""The GitHub gateway: what the GitHub steps need from GitHub, as a Protocol.

One method is one REST call (PLATFORM.md §2.1), so a step's calls, its audit rows and the
sandbox's request log line up one to one. Reads of something that may be absent return `None`
on 404; every other error is raised as `PlatformError(platform="github", …)`, keeping GitHub's
status and message. Ids are GitHub's integers; names are as the caller passed them.

There is deliberately no method that deletes a repository: the product never deletes one, for
any reason (`tests/github/test_seed_updates.py` holds that line). After its first seeding a
repository's default branch is people's: the product changes it only by a pull request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

TeamPermission = Literal["pull", "triage", "push", "maintain", "admin"]
MembershipState = Literal["active", "pending"]
PullState = Literal["open", "closed"]


@dataclass(frozen=True)
class OrgInfo:
    login: str
    id: int
    # `free`, `team`, `enterprise`…; None when the token may not see the plan (not an owner).
    plan: str | None


@dataclass(frozen=True)
class RepoInfo:
    id: int
    owner: str
    name: str
    full_name: str
    private: bool
    description: str | None
    default_branch: str
    # None when the answer did not carry topics (then ask `get_topics`).
    topics: tuple[str, ...] | None
    # Archived: read-only for everyone, kept with its history (the product's "removal").
    archived: bool = False


@dataclass(frozen=True)
class BranchInfo:
    name: str
    head_sha: str
    tree_sha: str
    protected: bool
    # Parents of the head commit; 0 for a root commit (a repository's first commit). None
    # when the answer did not list them.
    head_parents: int | None = None


@dataclass(frozen=True)
class RefInfo:
    ref: str
    sha: str


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str
    sha: str


@dataclass(frozen=True)
class NewFile:
    """A file to write in a new tree; content inline, UTF-8."""

    path: str
    content: str


@dataclass(frozen=True)
class GitIdentity:
    """Author/committer of a commit; a fixed `date` makes a re-POST give the same sha."""

    name: str
    email: str
    date: str  # ISO 8601, e.g. 2000-01-01T00:00:00Z


@dataclass(frozen=True)
class PullInfo:
    """A pull request, as the list, create and update answers all carry it."""

    number: int
    state: PullState
    title: str
    body: str | None
    head_ref: str  # the branch, without `refs/heads/`
    head_sha: str
    base_ref: str
    merged: bool
    html_url: str


@dataclass(frozen=True)
class BranchProtection:
    """The classic protection settings we manage (PLATFORM.md §2.3), read or to write."""

    # None: pull requests are not required (no review rule at all).
    required_approving_review_count: int | None
    dismiss_stale_reviews: bool
    require_code_owner_reviews: bool
    require_last_push_approval: bool
    enforce_admins: bool
    allow_force_pushes: bool
    allow_deletions: bool
    # Both are written as null; on read they say whether something else configured them.
    has_required_status_checks: bool = False
    has_restrictions: bool = False


@dataclass(frozen=True)
class TeamInfo:
    id: int
    slug: str
    name: str
    privacy: str | None
    description: str | None
    parent_id: int | None


@dataclass(frozen=True)
class MembershipInfo:
    state: MembershipState
    role: str


@dataclass(frozen=True)
class UserInfo:
    login: str
    id: int


@dataclass(frozen=True)
class OrgInvitation:
    id: int
    login: str | None
    email: str | None
    role: str


class GitHubGateway(Protocol):
    """Async operations on GitHub; implementations raise `PlatformError` on errors."""

    # --- organizations and users ------------------------------------------------------------
    async def get_org(self, org: str) -> OrgInfo: ...

    async def get_user(self, login: str) -> UserInfo | None:
        """None when no user has this login (404)."""
        ...

    async def list_org_invitations(self, org: str) -> list[OrgInvitation]: ...

    async def get_org_membership(self, org: str, login: str) -> MembershipInfo | None:
        """The person's organization membership (`pending` while invited); None if neither."""
        ...

    async def remove_org_membership(self, org: str, login: str) -> None:
        """Remove a member from the organization (and its teams), or cancel their pending
        invitation."""
        ...

    # --- repositories -----------------------------------------------------------------------
    async def get_repo(self, owner: str, name: str) -> RepoInfo | None: ...

    async def get_repo_by_id(self, repo_id: int) -> RepoInfo | None: ...

    async def create_repo(
        self, org: str, name: str, *, description: str, private: bool
    ) -> RepoInfo:
        """Create with `auto_init` (an empty repository answers 409 to the Git Data API)."""
        ...

    async def update_repo(
        self, owner: str, name: str, *, description: str, private: bool
    ) -> RepoInfo: ...

    async def set_repo_archived(self, owner: str, name: str, *, archived: bool) -> RepoInfo:
        """Archive (read-only) or unarchive: how a repository leaves a course, never deleted."""
        ...

    async def get_topics(self, owner: str, name: str) -> tuple[str, ...]: ...

    async def replace_topics(
        self, owner: str, name: str, topics: Sequence[str]
    ) -> tuple[str, ...]: ...

    # --- git data ---------------------------------------------------------------------------
    async def get_branch(self, owner: str, name: str, branch: str) -> BranchInfo | None: ...

    async def get_ref(self, owner: str, name: str, ref: str) -> RefInfo | None:
        """`ref` without the `refs/` prefix, e.g. `heads/main`."""
        ...

    async def get_tree(self, owner: str, name: str, tree_sha: str) -> list[TreeEntry]:
        """The whole tree, recursively."""
        ...

    async def create_tree(
        self, owner: str, name: str, *, base_tree: str, files: Sequence[NewFile]
    ) -> str:
        """The new tree's sha."""
        ...

    async def create_commit(
        self,
        owner: str,
        name: str,
        *,
        message: str,
        tree: str,
        parents: Sequence[str],
        author: GitIdentity,
    ) -> str:
        """The new commit's sha; `author` is the committer too."""
        ...

    async def create_ref(self, owner: str, name: str, ref: str, sha: str) -> RefInfo:
        """Create `ref` (`heads/course-bot/x`, no `refs/` prefix) at `sha`; 422 if it exists."""
        ...

    async def update_ref(
        self, owner: str, name: str, ref: str, sha: str, *, force: bool = False
    ) -> RefInfo:
        """Move `ref` (`heads/main`) to `sha`; fast-forward only unless `force` (which only
        our own branches ever get: the default branch is never forced)."""
        ...

    # --- pull requests ----------------------------------------------------------------------
    async def list_pulls(
        self, owner: str, name: str, *, head: str, state: Literal["open", "closed", "all"]
    ) -> list[PullInfo]:
        """Pull requests from branch `head` of this repository (filtered as `owner:head`),
        newest first; one page of 100, since a branch has at most one open pull request."""
        ...

    async def create_pull(
        self, owner: str, name: str, *, title: str, head: str, base: str, body: str
    ) -> PullInfo:
        """Open a pull request from branch `head` into `base`; 422 if one is open already."""
        ...

    async def update_pull(
        self, owner: str, name: str, number: int, *, title: str, body: str
    ) -> PullInfo: ...

    # --- branch protection ------------------------------------------------------------------
    async def get_branch_protection(
        self, owner: str, name: str, branch: str
    ) -> BranchProtection | None:
        """None while the branch is unprotected (404)."""
        ...

    async def put_branch_protection(
        self, owner: str, name: str, branch: str, protection: BranchProtection
    ) -> BranchProtection: ...

    # --- teams and access -------------------------------------------------------------------
    async def get_team(self, org: str, slug: str) -> TeamInfo | None: ...

    async def create_team(
        self,
        org: str,
        name: str,
        *,
        privacy: str,
        description: str,
        parent_team_id: int | None,
    ) -> TeamInfo: ...

    async def get_team_membership(
        self, org: str, team_slug: str, login: str
    ) -> MembershipInfo | None: ...

    async def put_team_membership(
        self, org: str, team_slug: str, login: str, *, role: str
    ) -> MembershipInfo:
        """Idempotent upsert; a non-member of the org gets an invitation and state `pending`."""
        ...

    async def remove_team_membership(self, org: str, team_slug: str, login: str) -> None:
        """End a membership of the team (or cancel its pending invitation); the person's
        organization membership is left as it is."""
        ...

    async def get_team_repo_permission(
        self, org: str, team_slug: str, owner: str, repo: str
    ) -> TeamPermission | None:
        """The team's permission on the repository; None when the team has no access."""
        ...

    async def put_team_repo_permission(
        self, org: str, team_slug: str, owner: str, repo: str, permission: TeamPermission
    ) -> None: ...


class GitHubGateways(Protocol):
    """The gateway for each organization: with one credential (a token) the same gateway for
    all; with a GitHub App the App's installation on that organization, each installation its
    own credential with its own limits. Steps get the one for their course's organization."""

    def for_org(self, org: str) -> GitHubGateway:
        """The gateway for `org`, at once and without a call: finding the org's installation
        happens on its first call, which raises `ActionRequiredError` when there is none."""
        ...
