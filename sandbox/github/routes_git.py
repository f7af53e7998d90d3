"""The Git Data API: blobs, trees, commits and refs, content-addressed with real shas."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from sandbox.github import gitops
from sandbox.github.context import GitHubContext, body, ok, principal, urls
from sandbox.github.errors import EMPTY_REPO_MESSAGE, ApiError, missing_field, not_found
from sandbox.github.gitobjects import FILE_MODE, GitObject, Person, make_blob
from sandbox.github.models import Repo
from sandbox.github.protected import check_branch_update
from sandbox.github.routes_repos import person_for
from sandbox.github.serialize_repo import git_commit_json, ref_json
from sandbox.github.urls import Urls


def _repo(ctx: GitHubContext, request: web.Request) -> Repo:
    repo = ctx.repo(request)
    if repo.empty:
        raise ApiError(409, EMPTY_REPO_MESSAGE)
    return repo


def tree_json(u: Urls, repo: Repo, sha: str, recursive: bool) -> dict[str, Any]:
    base = u.repo(repo.full_name)
    entries = []
    for path, e in gitops.list_entries(repo, sha, recursive):
        item: dict[str, Any] = {"path": path, "mode": e.mode, "type": e.type, "sha": e.sha}
        if e.type == "blob":
            item["size"] = len(gitops.get_object(repo, e.sha, "blob").blob_bytes())
            item["url"] = f"{base}/git/blobs/{e.sha}"
        else:
            item["url"] = f"{base}/git/trees/{e.sha}"
        entries.append(item)
    return {"sha": sha, "url": f"{base}/git/trees/{sha}", "tree": entries, "truncated": False}


def _person(raw: Any, fallback: Person) -> Person:
    if not isinstance(raw, dict):
        return fallback
    return Person(
        name=raw.get("name") or fallback.name,
        email=raw.get("email") or fallback.email,
        date=raw.get("date") or fallback.date,
    )


def _apply_entry(repo: Repo, flat: gitops.FlatTree, entry: Any) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise missing_field("Tree", "path")
    path = entry["path"].strip("/")
    if "sha" in entry and entry["sha"] is None:
        # sha: null deletes the path (and everything under it, for a directory).
        for key in [k for k in flat if k == path or k.startswith(path + "/")]:
            del flat[key]
        return
    mode = entry.get("mode", FILE_MODE)
    kind = entry.get("type", "blob")
    if "content" in entry:
        flat[path] = (mode, "blob", gitops.store(repo, make_blob(str(entry["content"]).encode())))
        return
    sha = entry.get("sha")
    if not isinstance(sha, str) or sha not in repo.objects:
        raise ApiError(
            422,
            "GitRPC::BadObjectState",
            errors=[{"resource": "Tree", "field": "sha", "code": "invalid"}],
        )
    if kind == "tree":
        for key in [k for k in flat if k.startswith(path + "/")]:
            del flat[key]
        for sub, value in gitops.flatten(repo, sha).items():
            flat[f"{path}/{sub}"] = value
    else:
        flat[path] = (mode, kind, sha)


def _resolve_tree(repo: Repo, ref: str) -> str:
    sha = repo.refs.get(f"refs/heads/{ref}", ref)
    obj = repo.objects.get(sha)
    if obj is not None and obj.type == "commit":
        return obj.tree or ""
    if obj is None or obj.type != "tree":
        raise not_found()
    return sha


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    async def post_blob(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        data = await body(request)
        if not isinstance(data.get("content"), str):
            raise missing_field("Blob", "content")
        if data.get("encoding") == "base64":
            try:
                raw = base64.b64decode(data["content"])
            except binascii.Error as exc:
                raise ApiError(422, "Invalid Base64") from exc
        else:
            raw = data["content"].encode()
        sha = gitops.store(repo, make_blob(raw))
        return ok(
            {"sha": sha, "url": f"{urls(request).repo(repo.full_name)}/git/blobs/{sha}"}, status=201
        )

    async def get_blob(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        sha = request.match_info["sha"]
        raw = gitops.get_object(repo, sha, "blob").blob_bytes()
        return ok(
            {
                "sha": sha,
                "node_id": f"B_{sha}",
                "size": len(raw),
                "url": f"{urls(request).repo(repo.full_name)}/git/blobs/{sha}",
                "content": base64.b64encode(raw).decode(),
                "encoding": "base64",
            }
        )

    async def post_tree(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        data = await body(request)
        entries = data.get("tree")
        if not isinstance(entries, list):
            raise missing_field("Tree", "tree")
        flat: gitops.FlatTree = {}
        base_tree = data.get("base_tree")
        if base_tree:
            obj = repo.objects.get(base_tree)
            if obj is None or obj.type != "tree":
                raise ApiError(422, "base_tree is not a valid tree oid")
            flat = gitops.flatten(repo, base_tree)
        for entry in entries:
            _apply_entry(repo, flat, entry)
        sha = gitops.build(repo, flat)
        return ok(tree_json(urls(request), repo, sha, recursive=False), status=201)

    async def get_tree(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        sha = _resolve_tree(repo, request.match_info["sha"])
        recursive = request.query.get("recursive") not in (None, "", "0", "false")
        return ok(tree_json(urls(request), repo, sha, recursive))

    async def post_commit(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        data = await body(request)
        for field in ("message", "tree"):
            if not isinstance(data.get(field), str):
                raise missing_field("Commit", field)
        gitops.get_object(repo, data["tree"], "tree")
        parents = data.get("parents") or []
        for p in parents:
            if repo.objects.get(p) is None:
                raise ApiError(422, "Parent SHA does not exist or is not a commit object")
        author = _person(data.get("author"), person_for(ctx, principal(request).login))
        committer = _person(data.get("committer"), author)
        commit = GitObject(
            type="commit",
            tree=data["tree"],
            parents=list(parents),
            author=author,
            committer=committer,
            message=data["message"],
        )
        sha = gitops.store(repo, commit)
        return ok(git_commit_json(urls(request), repo, sha, commit), status=201)

    async def get_commit(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        sha = request.match_info["sha"]
        obj = gitops.get_object(repo, sha, "commit")
        return ok(git_commit_json(urls(request), repo, sha, obj))

    async def get_ref(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        ref = "refs/" + request.match_info["ref"]
        sha = repo.refs.get(ref)
        if sha is None:
            raise not_found()
        return ok(ref_json(urls(request), repo, ref, sha))

    async def post_ref(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        data = await body(request)
        ref, sha = data.get("ref"), data.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(
                422, "Reference name must start with 'refs/' and have at least two slashes."
            )
        if not isinstance(sha, str) or repo.objects.get(sha) is None:
            raise ApiError(422, "Object does not exist")
        if ref in repo.refs:
            raise ApiError(422, "Reference already exists")
        repo.refs[ref] = sha
        return ok(ref_json(urls(request), repo, ref, sha), status=201)

    async def patch_ref(request: web.Request) -> web.Response:
        repo = _repo(ctx, request)
        ref = "refs/" + request.match_info["ref"]
        data = await body(request)
        sha = data.get("sha")
        current = repo.refs.get(ref)
        if current is None:
            raise ApiError(422, "Reference does not exist")
        if not isinstance(sha, str) or repo.objects.get(sha) is None:
            raise ApiError(422, "Object does not exist")
        if ref.startswith("refs/heads/") and sha != current:
            check_branch_update(ctx, repo, ref.removeprefix("refs/heads/"), principal(request))
        if not data.get("force") and not gitops.is_ancestor(repo, current, sha):
            raise ApiError(422, "Update is not a fast forward")
        repo.refs[ref] = sha
        repo.pushed_at = ctx.now()
        return ok(ref_json(urls(request), repo, ref, sha))

    prefix = "/repos/{owner}/{repo}/git"
    router.add_post(f"{prefix}/blobs", post_blob)
    router.add_get(f"{prefix}/blobs/{{sha}}", get_blob)
    router.add_post(f"{prefix}/trees", post_tree)
    router.add_get(f"{prefix}/trees/{{sha:.+}}", get_tree)
    router.add_post(f"{prefix}/commits", post_commit)
    router.add_get(f"{prefix}/commits/{{sha}}", get_commit)
    router.add_get(f"{prefix}/ref/{{ref:.+}}", get_ref)
    router.add_post(f"{prefix}/refs", post_ref)
    router.add_patch(f"{prefix}/refs/{{ref:.+}}", patch_ref)
