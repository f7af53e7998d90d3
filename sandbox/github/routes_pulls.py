"""Pull requests: list (with `state`, `head`, `base` filters), create, get and update."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.github.context import GitHubContext, body, ok, principal, urls
from sandbox.github.errors import ApiError, missing_field, not_found, validation_failed
from sandbox.github.models import PullRequest, Repo
from sandbox.github.pagination import paginate
from sandbox.github.pulls import commits_ahead, head_sha, pull_json

_STATES = ("open", "closed", "all")


def _branch_name(repo: Repo, value: str) -> str:
    """`owner:branch` or `branch`; another owner would be a fork, which the sandbox has not."""
    owner, sep, branch = value.rpartition(":")
    if sep and owner.lower() != repo.owner.lower():
        return value  # matches no branch here, as a fork's branch would not
    return branch


def _already_exists(repo: Repo, head: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": f"A pull request already exists for {repo.owner}:{head}.",
            }
        ],
    )


def _open_for(repo: Repo, head: str, base: str, skip: int | None = None) -> PullRequest | None:
    return next(
        (
            p
            for p in repo.pulls.values()
            if p.state == "open" and p.head == head and p.base == base and p.number != skip
        ),
        None,
    )


def _pull(ctx: GitHubContext, request: web.Request) -> tuple[Repo, PullRequest]:
    repo = ctx.repo(request)
    pull = repo.pulls.get(int(request.match_info["number"]))
    if pull is None:
        raise not_found()
    return repo, pull


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    async def list_pulls(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        state = request.query.get("state", "open")
        if state not in _STATES:
            raise validation_failed("PullRequest", "state", "invalid")
        found = list(repo.pulls.values())
        if state != "all":
            found = [p for p in found if p.state == state]
        owner, sep, branch = request.query.get("head", "").partition(":")
        if sep:
            # The filter is `owner:branch`; GitHub ignores a bare branch name (a known trap),
            # so a client that forgets the owner sees every pull request, as it would there.
            found = [p for p in found if owner.lower() == repo.owner.lower() and p.head == branch]
        if "base" in request.query:
            found = [p for p in found if p.base == request.query["base"]]
        found.sort(key=lambda p: p.number, reverse=True)  # sort=created, direction=desc
        u = urls(request)
        return paginate(request, [pull_json(ctx, u, repo, p, full=False) for p in found])

    async def post_pull(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        data = await body(request)
        for field in ("head", "base", "title"):
            if not isinstance(data.get(field), str) or not data[field]:
                raise missing_field("PullRequest", field)
        head, base = _branch_name(repo, data["head"]), data["base"]
        base_sha = repo.refs.get(f"refs/heads/{base}")
        if base_sha is None:
            raise validation_failed("PullRequest", "base", "invalid")
        tip = repo.refs.get(f"refs/heads/{head}")
        if tip is None:
            raise validation_failed("PullRequest", "head", "invalid")
        if _open_for(repo, head, base) is not None:
            raise _already_exists(repo, head)
        if commits_ahead(repo, base_sha, tip) == 0:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base} and {head}",
                    }
                ],
            )
        now = ctx.now()
        pull = PullRequest(
            id=ctx.state.new_id(),
            number=max(repo.pulls, default=0) + 1,
            title=data["title"],
            body=data.get("body") if isinstance(data.get("body"), str) else None,
            head=head,
            head_sha=tip,
            base=base,
            user=principal(request).login,
            draft=bool(data.get("draft", False)),
            maintainer_can_modify=bool(data.get("maintainer_can_modify", False)),
            created_at=now,
            updated_at=now,
        )
        repo.pulls[pull.number] = pull
        return ok(pull_json(ctx, urls(request), repo, pull, full=True), status=201)

    async def get_pull(request: web.Request) -> web.Response:
        repo, pull = _pull(ctx, request)
        return ok(pull_json(ctx, urls(request), repo, pull, full=True))

    async def patch_pull(request: web.Request) -> web.Response:
        repo, pull = _pull(ctx, request)
        data = await body(request)
        changes: dict[str, Any] = {}
        for field in ("title", "body", "base"):
            if field in data:
                if not isinstance(data[field], str):
                    raise validation_failed("PullRequest", field, "invalid")
                changes[field] = data[field]
        if "base" in changes and f"refs/heads/{changes['base']}" not in repo.refs:
            raise validation_failed("PullRequest", "base", "invalid")
        state = data.get("state")
        if state is not None and state not in ("open", "closed"):
            raise validation_failed("PullRequest", "state", "invalid")
        if state == "open" and pull.state == "closed":
            if pull.merged_at is not None:
                raise ApiError(422, "Validation Failed", errors=["state cannot be changed."])
            if _open_for(repo, pull.head, changes.get("base", pull.base), pull.number):
                raise _already_exists(repo, pull.head)
        now = ctx.now()
        for field, value in changes.items():
            setattr(pull, field, value)
        if state == "closed" and pull.state == "open":
            pull.head_sha = head_sha(repo, pull)
            pull.state, pull.closed_at = "closed", now
        elif state == "open" and pull.state == "closed":
            pull.state, pull.closed_at = "open", None
        if changes or state is not None:
            pull.updated_at = now
        return ok(pull_json(ctx, urls(request), repo, pull, full=True))

    prefix = "/repos/{owner}/{repo}/pulls"
    router.add_get(prefix, list_pulls)
    router.add_post(prefix, post_pull)
    router.add_get(rf"{prefix}/{{number:\d+}}", get_pull)
    router.add_patch(rf"{prefix}/{{number:\d+}}", patch_pull)
