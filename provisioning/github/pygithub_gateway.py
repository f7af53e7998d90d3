"""`GitHubGateway` on PyGithub 2.10, run on one worker thread, governed and audited.

Every attempt is ours: PyGithub's retries and sleeps are off (`retry=None`, no spacing), the
governor spaces calls before they go out and learns from every answer's headers, and the audited
transport writes one row per HTTP request. PyGithub is synchronous and not thread-safe, so all
of its calls run on one dedicated thread, in a copy of the caller's contextvars (the audit
context travels with them).

We call the REST paths of PLATFORM.md §2.1 through PyGithub's `Requester` rather than its object
model: objects complete lazily and follow server-sent `url`s, and each hidden GET would be a
call no step planned. Here one gateway method is one request, visible in the code.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github
from github.GithubException import GithubException

from provisioning.audit_context import AuditContext, HttpAuditSink, HttpExchange
from provisioning.errors import PlatformError
from provisioning.github import parse, transport
from provisioning.github.errors import from_github_exception, from_transport_error
from provisioning.github.gateway import (
    BranchInfo,
    BranchProtection,
    GitIdentity,
    MembershipInfo,
    NewFile,
    OrgInfo,
    OrgInvitation,
    RefInfo,
    RepoInfo,
    TeamInfo,
    TeamPermission,
    TreeEntry,
    UserInfo,
)
from provisioning.governor import RateGovernor

log = logging.getLogger(__name__)

T = TypeVar("T")
API_VERSION = "2022-11-28"
# Every REST call draws on the `core` resource; the governor keys its reset by this bucket.
BUCKET = "core"
_PAGE = 100
_REPO_MEDIA = {"Accept": "application/vnd.github.v3.repository+json"}


@dataclass(frozen=True)
class TokenCredentials:
    token: str

    def __repr__(self) -> str:
        return "TokenCredentials(token=[redacted])"


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation; PyGithub fetches and refreshes its 1-hour tokens."""

    app_id: int | str
    private_key: str
    installation_id: int

    def __repr__(self) -> str:
        return f"AppCredentials(app_id={self.app_id}, installation_id={self.installation_id})"


Credentials = TokenCredentials | AppCredentials


def _q(value: str) -> str:
    return quote(value, safe="")


class PyGithubGateway:
    """The real gateway. Build it in `main()`; `await aclose()` on shutdown."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials,
        governor: RateGovernor,
        sink: HttpAuditSink,
        timeout_s: int = 15,
    ) -> None:
        transport.install()
        if isinstance(credentials, TokenCredentials):
            auth: Auth.Auth = Auth.Token(credentials.token)
        else:
            auth = Auth.AppAuth(credentials.app_id, credentials.private_key).get_installation_auth(
                credentials.installation_id
            )
        self._github = Github(
            base_url=base_url,
            auth=auth,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            api_version=API_VERSION,
            timeout=timeout_s,
            per_page=_PAGE,
        )
        self._requester = self._github.requester
        self._prefix = base_url.split("://", 1)[-1].partition("/")[2].rstrip("/")
        self._prefix = f"/{self._prefix}" if self._prefix else ""
        self._governor = governor
        self._sink = sink
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pygithub")

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._github.close)
        self._executor.shutdown(wait=True)

    # --- plumbing ---------------------------------------------------------------------------
    async def _on_exchange(
        self, exchange: HttpExchange, context: AuditContext, headers: Mapping[str, str]
    ) -> None:
        self._governor.observe(BUCKET, headers)
        await self._sink.record_http(exchange, context)

    async def _call(self, write: bool, fn: Callable[[], T]) -> T:
        await self._governor.acquire(BUCKET, write=write)
        loop = asyncio.get_running_loop()
        bound = transport.TransportBinding(
            loop=loop,
            loop_thread=threading.get_ident(),
            on_exchange=self._on_exchange,
            prefix=self._prefix,
        )

        def run() -> T:
            transport.binding.set(bound)
            return fn()

        context = contextvars.copy_context()
        try:
            return await loop.run_in_executor(self._executor, context.run, run)
        except GithubException as exc:
            raise from_github_exception(exc) from exc
        except (requests.RequestException, OSError) as exc:
            raise from_transport_error(exc) from exc

    async def _json(
        self,
        verb: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        parameters: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        def send() -> Any:
            _, data = self._requester.requestJsonAndCheck(
                verb, path, parameters=parameters, headers=headers, input=body
            )
            return data

        return await self._call(verb != "GET", send)

    async def _maybe(self, path: str, **kwargs: Any) -> Any | None:
        try:
            return await self._json("GET", path, **kwargs)
        except PlatformError as exc:
            if exc.status == 404:
                return None
            raise

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
                "GET", f"/orgs/{_q(org)}/invitations", parameters={"per_page": _PAGE, "page": page}
            )
            found += [parse.invitation(d) for d in data]
            if len(data) < _PAGE:
                return found
            page += 1

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

    async def update_ref(self, owner: str, name: str, ref: str, sha: str) -> RefInfo:
        path = f"/repos/{_q(owner)}/{_q(name)}/git/refs/{quote(ref)}"
        return parse.ref(await self._json("PATCH", path, {"sha": sha, "force": False}))

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

    async def get_team_repo_permission(
        self, org: str, team_slug: str, owner: str, repo: str
    ) -> TeamPermission | None:
        path = f"/orgs/{_q(org)}/teams/{_q(team_slug)}/repos/{_q(owner)}/{_q(repo)}"
        # The repository media type answers 200 with the permissions; the default answers 204.
        data = await self._maybe(path, headers=dict(_REPO_MEDIA))
        return None if not isinstance(data, Mapping) else parse.team_repo_permission(data)

    async def put_team_repo_permission(
        self, org: str, team_slug: str, owner: str, repo: str, permission: TeamPermission
    ) -> None:
        path = f"/orgs/{_q(org)}/teams/{_q(team_slug)}/repos/{_q(owner)}/{_q(repo)}"
        await self._json("PUT", path, {"permission": permission})
