"""`GitHubGateway` on PyGithub 2.10: the REST calls of PLATFORM.md §2.1, one per method.

We call those paths through PyGithub's `Requester` rather than its object model: objects
complete lazily and follow server-sent `url`s, and each hidden GET would be a call no step
planned. Threading, governing, auditing and error mapping live in `worker.py`; finding the
gateway of an organization's App installation in `installations.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

from clients.github.worker import (
    BUCKET,
    PAGE_SIZE,
    AppCredentials,
    AppKeyCredentials,
    Credentials,
    PyGithubWorker,
    TokenCredentials,
)
from provisioning.audit_context import HttpAuditSink
from provisioning.errors import PlatformError
from provisioning.github import parse
from provisioning.github.gateway import (
    BranchInfo,
    BranchProtection,
    GitIdentity,
    MembershipInfo,
    NewFile,
    OrgInfo,
    OrgInvitation,
    PullInfo,
    RefInfo,
    RepoInfo,
    TeamInfo,
    TeamPermission,
    TreeEntry,
    UserInfo,
)
from provisioning.governor import RateGovernor

__all__ = [
    "AppCredentials",
    "AppKeyCredentials",
    "Credentials",
    "GitHubRestCalls",
    "PyGithubGateway",
    "TokenCredentials",
]


def _q(value: str) -> str:
    return quote(value, safe="")


class GitHubRestCalls:
    """The REST calls, each sent by `_send` with a worker: the gateway's own, or
    (`clients.github.installations`) the one of an organization's App installation."""

    async def _send(self, request: Callable[[PyGithubWorker], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def _json(
        self,
        verb: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> Any:
        return await self._send(lambda w: w.json(verb, path, body, parameters=parameters))

    async def _maybe(self, path: str, *, parameters: dict[str, Any] | None = None) -> Any | None:
        return await self._send(lambda w: w.maybe(path, parameters=parameters))

    # --- organizations and users ------------------------------------------------------------
    async def get_org(self, org: str) -> OrgInfo:
        return parse.org(await self._json("GET", f"/orgs/{_q(org)}"))

    async def get_user(self, login: str) -> UserInfo | None:
        data = await self._maybe(f"/users/{_q(login)}")
        return None if data is None else parse.user(data)

    async def list_org_invitations(self, org: str) -> list[OrgInvitation]:
        found: list[OrgInvitation] = []
        page = 1
        while True:
            data = await self._json(
                "GET",
                f"/orgs/{_q(org)}/invitations",
                parameters={"per_page": PAGE_SIZE, "page": page},
            )
            found += [parse.invitation(d) for d in data]
            if len(data) < PAGE_SIZE:
                return found
            page += 1

    async def list_org_members(self, org: str) -> list[str]:
        found: list[str] = []
        page = 1
        while True:
            data = await self._json(
                "GET", f"/orgs/{_q(org)}/members", parameters={"per_page": PAGE_SIZE, "page": page}
            )
            found += [str(d["login"]) for d in data]
            if len(data) < PAGE_SIZE:
                return found
            page += 1

    async def cancel_org_invitation(self, org: str, invitation_id: int) -> bool:
        try:
            await self._json("DELETE", f"/orgs/{_q(org)}/invitations/{int(invitation_id)}")
        except PlatformError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def get_org_membership(self, org: str, login: str) -> MembershipInfo | None:
        data = await self._maybe(f"/orgs/{_q(org)}/memberships/{_q(login)}")
        return None if data is None else parse.membership(data)

    async def remove_org_membership(self, org: str, login: str) -> None:
        await self._json("DELETE", f"/orgs/{_q(org)}/memberships/{_q(login)}")

    # --- repositories -----------------------------------------------------------------------
    async def get_repo(self, owner: str, name: str) -> RepoInfo | None:
        data = await self._maybe(f"/repos/{_q(owner)}/{_q(name)}")
        return None if data is None else parse.repo(data)

    async def get_repo_by_id(self, repo_id: int) -> RepoInfo | None:
        data = await self._maybe(f"/repositories/{int(repo_id)}")
        return None if data is None else parse.repo(data)

    async def create_repo(
        self, org: str, name: str, *, description: str, private: bool
    ) -> RepoInfo:
        body = {"name": name, "private": private, "auto_init": True, "description": description}
        return parse.repo(await self._json("POST", f"/orgs/{_q(org)}/repos", body))

    async def update_repo(
        self, owner: str, name: str, *, description: str, private: bool
    ) -> RepoInfo:
        body = {"description": description, "private": private}
        return parse.repo(await self._json("PATCH", f"/repos/{_q(owner)}/{_q(name)}", body))

    async def set_repo_archived(self, owner: str, name: str, *, archived: bool) -> RepoInfo:
        body = {"archived": archived}
        return parse.repo(await self._json("PATCH", f"/repos/{_q(owner)}/{_q(name)}", body))

    async def get_topics(self, owner: str, name: str) -> tuple[str, ...]:
        data = await self._json("GET", f"/repos/{_q(owner)}/{_q(name)}/topics")
        return tuple(data.get("names") or ())

    async def replace_topics(self, owner: str, name: str, topics: Sequence[str]) -> tuple[str, ...]:
        path = f"/repos/{_q(owner)}/{_q(name)}/topics"
        data = await self._json("PUT", path, {"names": list(topics)})
        return tuple(data.get("names") or ())

    # --- git data ---------------------------------------------------------------------------
    async def get_branch(self, owner: str, name: str, branch: str) -> BranchInfo | None:
        data = await self._maybe(f"/repos/{_q(owner)}/{_q(name)}/branches/{_q(branch)}")
        return None if data is None else parse.branch(data)

    async def get_ref(self, owner: str, name: str, ref: str) -> RefInfo | None:
        data = await self._maybe(f"/repos/{_q(owner)}/{_q(name)}/git/ref/{quote(ref)}")
        return None if data is None else parse.ref(data)

    async def get_tree(self, owner: str, name: str, tree_sha: str) -> list[TreeEntry]:
        path = f"/repos/{_q(owner)}/{_q(name)}/git/trees/{_q(tree_sha)}"
        return parse.tree(await self._json("GET", path, parameters={"recursive": "1"}))

    async def create_tree(
        self, owner: str, name: str, *, base_tree: str, files: Sequence[NewFile]
    ) -> str:
        entries = [
            {"path": f.path, "mode": "100644", "type": "blob", "content": f.content} for f in files
        ]
        path = f"/repos/{_q(owner)}/{_q(name)}/git/trees"
        data = await self._json("POST", path, {"base_tree": base_tree, "tree": entries})
        return str(data["sha"])

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
        who = {"name": author.name, "email": author.email, "date": author.date}
        body = {
            "message": message,
            "tree": tree,
            "parents": list(parents),
            "author": who,
            "committer": who,
        }
        data = await self._json("POST", f"/repos/{_q(owner)}/{_q(name)}/git/commits", body)
        return str(data["sha"])

    async def create_ref(self, owner: str, name: str, ref: str, sha: str) -> RefInfo:
        path = f"/repos/{_q(owner)}/{_q(name)}/git/refs"
        return parse.ref(await self._json("POST", path, {"ref": f"refs/{ref}", "sha": sha}))

    async def update_ref(
        self, owner: str, name: str, ref: str, sha: str, *, force: bool = False
    ) -> RefInfo:
        path = f"/repos/{_q(owner)}/{_q(name)}/git/refs/{quote(ref)}"
        return parse.ref(await self._json("PATCH", path, {"sha": sha, "force": force}))

    # --- pull requests ----------------------------------------------------------------------
    async def list_pulls(
        self, owner: str, name: str, *, head: str, state: Literal["open", "closed", "all"]
    ) -> list[PullInfo]:
        # `head` must be `owner:branch`: GitHub ignores a bare branch name and lists every
        # pull request of the repository.
        data = await self._json(
            "GET",
            f"/repos/{_q(owner)}/{_q(name)}/pulls",
            parameters={"head": f"{owner}:{head}", "state": state, "per_page": PAGE_SIZE},
        )
        return [parse.pull(d) for d in data]

    async def create_pull(
        self, owner: str, name: str, *, title: str, head: str, base: str, body: str
    ) -> PullInfo:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return parse.pull(await self._json("POST", f"/repos/{_q(owner)}/{_q(name)}/pulls", payload))

    async def update_pull(
        self, owner: str, name: str, number: int, *, title: str, body: str
    ) -> PullInfo:
        path = f"/repos/{_q(owner)}/{_q(name)}/pulls/{int(number)}"
        return parse.pull(await self._json("PATCH", path, {"title": title, "body": body}))

    # --- branch protection ------------------------------------------------------------------
    async def get_branch_protection(
        self, owner: str, name: str, branch: str
    ) -> BranchProtection | None:
        path = f"/repos/{_q(owner)}/{_q(name)}/branches/{_q(branch)}/protection"
        data = await self._maybe(path)
        return None if data is None else parse.protection(data)

    async def put_branch_protection(
        self, owner: str, name: str, branch: str, protection: BranchProtection
    ) -> BranchProtection:
        path = f"/repos/{_q(owner)}/{_q(name)}/branches/{_q(branch)}/protection"
        return parse.protection(await self._json("PUT", path, parse.protection_body(protection)))

    # --- teams and access -------------------------------------------------------------------
    async def get_team(self, org: str, slug: str) -> TeamInfo | None:
        data = await self._maybe(f"/orgs/{_q(org)}/teams/{_q(slug)}")
        return None if data is None else parse.team(data)

    async def create_team(
        self,
        org: str,
        name: str,
        *,
        privacy: str,
        description: str,
        parent_team_id: int | None,
    ) -> TeamInfo:
        body: dict[str, Any] = {"name": name, "privacy": privacy, "description": description}
        if parent_team_id is not None:
            body["parent_team_id"] = parent_team_id
        return parse.team(await self._json("POST", f"/orgs/{_q(org)}/teams", body))

    async def get_team_membership(
        self, org: str, team_slug: str, login: str
    ) -> MembershipInfo | None:
        data = await self._maybe(f"/orgs/{_q(org)}/teams/{_q(team_slug)}/memberships/{_q(login)}")
        return None if data is None else parse.membership(data)

    async def put_team_membership(
        self, org: str, team_slug: str, login: str, *, role: str
    ) -> MembershipInfo:
        path = f"/orgs/{_q(org)}/teams/{_q(team_slug)}/memberships/{_q(login)}"
        return parse.membership(await self._json("PUT", path, {"role": role}))

    async def remove_team_membership(self, org: str, team_slug: str, login: str) -> None:
        path = f"/orgs/{_q(org)}/teams/{_q(team_slug)}/memberships/{_q(login)}"
        await self._json("DELETE", path)

    async def get_team_repo_permission(
        self, org: str, team_slug: str, owner: str, repo: str
    ) -> TeamPermission | None:
        # The team's repository list (each with `role_name`/`permissions`), not the single
        # "check team permissions" GET: the list is answered the same by every GitHub we
        # drive, and a course team has a handful of repositories, so it is one page.
        wanted = f"{owner}/{repo}".lower()
        page = 1
        while True:
            data = await self._json(
                "GET",
                f"/orgs/{_q(org)}/teams/{_q(team_slug)}/repos",
                parameters={"per_page": PAGE_SIZE, "page": page},
            )
            for item in data:
                if str(item.get("full_name", "")).lower() == wanted:
                    return parse.team_repo_permission(item)
            if len(data) < PAGE_SIZE:
                return None
            page += 1

    async def put_team_repo_permission(
        self, org: str, team_slug: str, owner: str, repo: str, permission: TeamPermission
    ) -> None:
        path = f"/orgs/{_q(org)}/teams/{_q(team_slug)}/repos/{_q(owner)}/{_q(repo)}"
        await self._json("PUT", path, {"permission": permission})


class PyGithubGateway(GitHubRestCalls):
    """The real gateway for one credential (a token, or one App installation), serving every
    organization it can reach. Build it in `main()`; `await aclose()` on shutdown."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials,
        governor: RateGovernor,
        sink: HttpAuditSink,
        timeout_s: int = 15,
    ) -> None:
        self._worker = PyGithubWorker(
            base_url=base_url,
            credentials=credentials,
            governor=governor,
            sink=sink,
            timeout_s=timeout_s,
        )
        self._governor = governor

    def hourly_limit(self, org: str) -> int | None:
        """The credential's hourly limit as its answers last said; None before any call."""
        return self._governor.limit(BUCKET)

    async def _send(self, request: Callable[[PyGithubWorker], Awaitable[Any]]) -> Any:
        return await request(self._worker)

    def for_org(self, org: str) -> PyGithubGateway:
        """One credential for every organization (`GitHubGateways`)."""
        return self

    async def aclose(self) -> None:
        await self._worker.aclose()
