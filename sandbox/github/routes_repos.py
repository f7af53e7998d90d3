"""Repositories: create, read, edit, delete, topics, branches and the Contents API."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from aiohttp import web

from sandbox.github import gitops
from sandbox.github.context import GitHubContext, body, no_content, ok, principal, urls
from sandbox.github.errors import ApiError, missing_field, not_found, validation_failed
from sandbox.github.gitobjects import Person
from sandbox.github.models import Repo
from sandbox.github.protected import check_branch_update
from sandbox.github.serialize_repo import commit_json, repo_json
from sandbox.github.urls import Urls, iso

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_ADMIN = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}


def person_for(ctx: GitHubContext, login: str) -> Person:
    user = ctx.state.users.get(login.lower())
    ident = user.id if user else 0
    return Person(
        name=login, email=f"{ident}+{login}@users.noreply.github.com", date=iso(ctx.now())
    )


def full_repo(ctx: GitHubContext, u: Urls, repo: Repo) -> dict[str, Any]:
    return repo_json(u, repo, ctx.owner_id(repo.owner), permissions=_ADMIN)


def create_repo(ctx: GitHubContext, org_login: str, data: dict[str, Any], creator: str) -> Repo:
    org = ctx.org(org_login)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise missing_field("Repository", "name")
    if not _NAME.match(name):
        raise validation_failed("Repository", "name", "custom", "name is invalid")
    if f"{org.login}/{name}".lower() in ctx.state.repos:
        raise ApiError(
            422,
            "Repository creation failed.",
            errors=[
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account",
                }
            ],
        )
    now = ctx.now()
    visibility = data.get("visibility")
    private = bool(data.get("private", False)) if visibility is None else visibility != "public"
    repo = Repo(
        id=ctx.state.new_id(),
        owner=org.login,
        name=name,
        description=data.get("description"),
        homepage=data.get("homepage"),
        private=private,
        created_at=now,
        updated_at=now,
        hidden_until=now + ctx.consistency.hidden_seconds,
        hidden_requests=ctx.consistency.hidden_requests,
    )
    if data.get("auto_init"):
        readme = f"# {name}\n" + (f"{repo.description}\n" if repo.description else "")
        gitops.commit_files(
            repo,
            repo.default_branch,
            {"README.md": readme.encode()},
            "Initial commit",
            person_for(ctx, creator),
        )
        repo.pushed_at = now
    ctx.state.repos[repo.key] = repo
    team_id = data.get("team_id")
    if isinstance(team_id, int) and team_id in ctx.state.teams:
        ctx.state.teams[team_id].repos[repo.key] = "pull"
    return repo


def branch_json(ctx: GitHubContext, u: Urls, repo: Repo, branch: str) -> dict[str, Any]:
    sha = gitops.head_commit(repo, branch)
    base = f"{u.repo(repo.full_name)}/branches/{branch}"
    protection = repo.protection.get(branch)
    return {
        "name": branch,
        "commit": commit_json(u, repo, sha, gitops.get_object(repo, sha, "commit")),
        "_links": {"self": base, "html": f"{u.web}/{repo.full_name}/tree/{branch}"},
        "protected": protection is not None,
        "protection": {
            "enabled": protection is not None,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{base}/protection",
    }


def content_json(u: Urls, repo: Repo, path: str, sha: str, data: bytes, ref: str) -> dict[str, Any]:
    base = u.repo(repo.full_name)
    url = f"{base}/contents/{path}?ref={ref}"
    git_url = f"{base}/git/blobs/{sha}"
    html_url = f"{u.web}/{repo.full_name}/blob/{ref}/{path}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.b64encode(data).decode(),
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"{u.web}/raw/{repo.full_name}/{ref}/{path}",
        "_links": {"self": url, "git": git_url, "html": html_url},
    }


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    async def post_repo(request: web.Request) -> web.Response:
        data = await body(request)
        repo = create_repo(ctx, request.match_info["org"], data, principal(request).login)
        return ok(full_repo(ctx, urls(request), repo), status=201)

    async def get_repo(request: web.Request) -> web.Response:
        return ok(full_repo(ctx, urls(request), ctx.repo(request)))

    async def get_repo_by_id(request: web.Request) -> web.Response:
        # Ids survive renames, which is why provisioning stores them.
        wanted = int(request.match_info["repository_id"])
        repo = next((r for r in ctx.state.repos.values() if r.id == wanted), None)
        if repo is None:
            raise not_found()
        return ok(full_repo(ctx, urls(request), ctx.repo_by_key(repo.key)))

    async def patch_repo(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        data = await body(request)
        for key in ("description", "homepage", "default_branch", "archived", "private"):
            if key in data:
                setattr(repo, key, data[key])
        if "visibility" in data:
            repo.private = data["visibility"] != "public"
        new_name = data.get("name")
        if isinstance(new_name, str) and new_name != repo.name:
            old_key = repo.key
            if f"{repo.owner}/{new_name}".lower() in ctx.state.repos:
                raise validation_failed(
                    "Repository", "name", "custom", "name already exists on this account"
                )
            repo.name = new_name
            ctx.state.repos[repo.key] = ctx.state.repos.pop(old_key)
            for team in ctx.state.teams.values():
                if old_key in team.repos:
                    team.repos[repo.key] = team.repos.pop(old_key)
        repo.updated_at = ctx.now()
        return ok(full_repo(ctx, urls(request), repo))

    async def delete_repo(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        del ctx.state.repos[repo.key]
        for team in ctx.state.teams.values():
            team.repos.pop(repo.key, None)
        for inv_id in [i for i, v in ctx.state.repo_invitations.items() if v.repo == repo.key]:
            del ctx.state.repo_invitations[inv_id]
        return no_content()

    async def get_topics(request: web.Request) -> web.Response:
        return ok({"names": ctx.repo(request).topics})

    async def put_topics(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        names = (await body(request)).get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise missing_field("Repository", "names")
        bad = [n for n in names if not re.match(r"^[a-z0-9][a-z0-9-]{0,49}$", n)]
        if bad:
            raise validation_failed(
                "Repository", "topics", "invalid", f"{bad[0]} is not a valid topic"
            )
        repo.topics = list(dict.fromkeys(names))
        return ok({"names": repo.topics})

    async def get_branch(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        return ok(branch_json(ctx, urls(request), repo, request.match_info["branch"]))

    async def get_contents(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        if repo.empty:
            raise ApiError(404, "This repository is empty.")
        ref = request.query.get("ref", repo.default_branch)
        head = repo.refs.get(f"refs/heads/{ref}", ref)
        commit = repo.objects.get(head)
        if commit is None or commit.type != "commit":
            raise ApiError(404, f"No commit found for the ref {ref}")
        path = request.match_info["path"].strip("/")
        flat = gitops.flatten(repo, commit.tree or "")
        u = urls(request)
        if path in flat:
            sha = flat[path][2]
            data = gitops.get_object(repo, sha, "blob").blob_bytes()
            return ok(content_json(u, repo, path, sha, data, ref))
        raise not_found()

    async def put_contents(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        data = await body(request)
        for field in ("message", "content"):
            if not isinstance(data.get(field), str):
                raise missing_field("Content", field)
        try:
            content = base64.b64decode(data["content"], validate=True)
        except binascii.Error as exc:
            raise ApiError(422, "content is not valid Base64") from exc
        path = request.match_info["path"].strip("/")
        branch = data.get("branch") or repo.default_branch
        existing = None
        if not repo.empty:
            check_branch_update(ctx, repo, branch, principal(request))
            head = gitops.head_commit(repo, branch)
            existing = gitops.flatten(repo, gitops.get_object(repo, head, "commit").tree or "").get(
                path
            )
        if existing is not None and data.get("sha") is None:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if existing is not None and data.get("sha") != existing[2]:
            raise ApiError(409, f"{path} does not match {data.get('sha')}")
        who = person_for(ctx, principal(request).login)
        sha = gitops.commit_files(repo, branch, {path: content}, data["message"], who)
        repo.pushed_at = ctx.now()
        u = urls(request)
        blob_sha = gitops.flatten(repo, gitops.get_object(repo, sha, "commit").tree or "")[path][2]
        commit = commit_json(u, repo, sha, gitops.get_object(repo, sha, "commit"))
        out = {
            "content": content_json(u, repo, path, blob_sha, content, branch),
            "commit": commit["commit"]
            | {
                "sha": sha,
                "node_id": commit["node_id"],
                "html_url": commit["html_url"],
                "parents": commit["parents"],
            },
        }
        return ok(out, status=200 if existing else 201)

    router.add_post("/orgs/{org}/repos", post_repo)
    router.add_get("/repos/{owner}/{repo}", get_repo)
    router.add_get(r"/repositories/{repository_id:\d+}", get_repo_by_id)
    router.add_patch("/repos/{owner}/{repo}", patch_repo)
    router.add_delete("/repos/{owner}/{repo}", delete_repo)
    router.add_get("/repos/{owner}/{repo}/topics", get_topics)
    router.add_put("/repos/{owner}/{repo}/topics", put_topics)
    router.add_get("/repos/{owner}/{repo}/contents/{path:.+}", get_contents)
    router.add_put("/repos/{owner}/{repo}/contents/{path:.+}", put_contents)
    # Protection routes (…/branches/{b}/protection) are registered before this catch-all.
    router.add_get("/repos/{owner}/{repo}/branches/{branch:.+}", get_branch)
