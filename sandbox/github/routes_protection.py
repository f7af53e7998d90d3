"""Classic branch protection and repository rulesets, gated by plan like GitHub does."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.github import gitops
from sandbox.github.context import GitHubContext, body, no_content, ok, urls
from sandbox.github.errors import UPGRADE_MESSAGE, ApiError, missing_field, not_found
from sandbox.github.models import Repo, Ruleset
from sandbox.github.urls import Urls, iso, node_id

_REQUIRED = (
    "required_status_checks",
    "enforce_admins",
    "required_pull_request_reviews",
    "restrictions",
)
_FLAGS = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)
MAX_RULESETS = 75


def require_plan(ctx: GitHubContext, repo: Repo) -> None:
    """Free-plan orgs get protection and rulesets on public repositories only."""
    org = ctx.state.orgs.get(repo.owner.lower())
    if org is not None and org.plan == "free" and repo.private:
        raise ApiError(
            403,
            UPGRADE_MESSAGE,
            documentation_url="https://docs.github.com/rest/branches/branch-protection",
        )


def protection_json(u: Urls, repo: Repo, branch: str, cfg: dict[str, Any]) -> dict[str, Any]:
    url = f"{u.repo(repo.full_name)}/branches/{branch}/protection"
    out: dict[str, Any] = {"url": url}
    checks = cfg.get("required_status_checks")
    if isinstance(checks, dict):
        contexts = list(checks.get("contexts") or [])
        out["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": bool(checks.get("strict")),
            "contexts": contexts,
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": c, "app_id": None} for c in contexts],
        }
    reviews = cfg.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        out["required_pull_request_reviews"] = {
            "url": f"{url}/required_pull_request_reviews",
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
            "required_approving_review_count": int(
                reviews.get("required_approving_review_count") or 0
            ),
            "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
        }
    if isinstance(cfg.get("restrictions"), dict):
        out["restrictions"] = {
            "url": f"{url}/restrictions",
            "users_url": f"{url}/restrictions/users",
            "teams_url": f"{url}/restrictions/teams",
            "apps_url": f"{url}/restrictions/apps",
            "users": [],
            "teams": [],
            "apps": [],
        }
    out["enforce_admins"] = {
        "url": f"{url}/enforce_admins",
        "enabled": bool(cfg.get("enforce_admins")),
    }
    out["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
    for flag in _FLAGS:
        out[flag] = {"enabled": bool(cfg.get(flag))}
    return out


def _check_protection(data: dict[str, Any]) -> None:
    for key in _REQUIRED:
        if key not in data:
            raise ApiError(
                422,
                f'Invalid request.\n\nNo subschema in "anyOf" matched.\n"{key}" wasn\'t supplied.',
            )
    reviews = data.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        count = reviews.get("required_approving_review_count", 1)
        if not isinstance(count, int) or not 0 <= count <= 6:
            raise ApiError(
                422,
                "Invalid request.\n\nrequired_approving_review_count must be between 1 and 6 or 0.",
            )


def ruleset_json(u: Urls, repo: Repo, rs: Ruleset) -> dict[str, Any]:
    url = f"{u.repo(repo.full_name)}/rulesets/{rs.id}"
    b = rs.body
    return {
        "id": rs.id,
        "name": b["name"],
        "target": b.get("target", "branch"),
        "source_type": "Repository",
        "source": repo.full_name,
        "enforcement": b["enforcement"],
        "bypass_actors": b.get("bypass_actors", []),
        "current_user_can_bypass": "never",
        "node_id": node_id("RRS", rs.id),
        "conditions": b.get("conditions"),
        "rules": b.get("rules", []),
        "created_at": iso(rs.created_at),
        "updated_at": iso(rs.updated_at),
        "_links": {
            "self": {"href": url},
            "html": {"href": f"{u.web}/{repo.full_name}/rules/{rs.id}"},
        },
    }


def _check_ruleset(data: dict[str, Any], partial: bool) -> None:
    if not partial:
        for key in ("name", "enforcement"):
            if key not in data:
                raise missing_field("Ruleset", key)
    if "enforcement" in data and data["enforcement"] not in ("active", "disabled"):
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                "Invalid property /enforcement: evaluate is only available on GitHub Enterprise"
            ],
        )
    for rule in data.get("rules") or []:
        params = rule.get("parameters") if isinstance(rule, dict) else None
        if isinstance(rule, dict) and rule.get("type") == "pull_request":
            count = (params or {}).get("required_approving_review_count")
            if not isinstance(count, int) or not 0 <= count <= 10:
                raise ApiError(
                    422,
                    "Validation Failed",
                    errors=["Invalid property /rules/0/parameters/required_approving_review_count"],
                )


def register(router: web.UrlDispatcher, ctx: GitHubContext) -> None:
    def _branch(request: web.Request) -> tuple[Repo, str]:
        repo = ctx.repo(request)
        require_plan(ctx, repo)
        branch = request.match_info["branch"]
        if repo.empty:
            raise ApiError(404, "Branch not found")
        gitops.head_commit(repo, branch)
        return repo, branch

    async def get_protection(request: web.Request) -> web.Response:
        repo, branch = _branch(request)
        cfg = repo.protection.get(branch)
        if cfg is None:
            raise ApiError(404, "Branch not protected")
        return ok(protection_json(urls(request), repo, branch, cfg))

    async def put_protection(request: web.Request) -> web.Response:
        repo, branch = _branch(request)
        data = await body(request)
        _check_protection(data)
        repo.protection[branch] = data  # PUT replaces the whole configuration
        return ok(protection_json(urls(request), repo, branch, data))

    async def delete_protection(request: web.Request) -> web.Response:
        repo, branch = _branch(request)
        if repo.protection.pop(branch, None) is None:
            raise ApiError(404, "Branch not protected")
        return no_content()

    async def list_rulesets(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        require_plan(ctx, repo)
        u = urls(request)
        return ok([ruleset_json(u, repo, rs) for rs in repo.rulesets.values()])

    async def post_ruleset(request: web.Request) -> web.Response:
        repo = ctx.repo(request)
        require_plan(ctx, repo)
        data = await body(request)
        _check_ruleset(data, partial=False)
        if len(repo.rulesets) >= MAX_RULESETS:
            raise ApiError(422, "Validation Failed", errors=["Too many rulesets"])
        now = ctx.now()
        rs = Ruleset(id=ctx.state.new_id(), body=data, created_at=now, updated_at=now)
        repo.rulesets[rs.id] = rs  # every POST adds one: clients must upsert by name
        return ok(ruleset_json(urls(request), repo, rs), status=201)

    def _ruleset(request: web.Request) -> tuple[Repo, Ruleset]:
        repo = ctx.repo(request)
        require_plan(ctx, repo)
        rs = repo.rulesets.get(int(request.match_info["ruleset_id"]))
        if rs is None:
            raise not_found()
        return repo, rs

    async def get_ruleset(request: web.Request) -> web.Response:
        repo, rs = _ruleset(request)
        return ok(ruleset_json(urls(request), repo, rs))

    async def put_ruleset(request: web.Request) -> web.Response:
        repo, rs = _ruleset(request)
        data = await body(request)
        _check_ruleset(data, partial=True)
        rs.body = rs.body | data
        rs.updated_at = ctx.now()
        return ok(ruleset_json(urls(request), repo, rs))

    path = "/repos/{owner}/{repo}/branches/{branch:.+}/protection"
    router.add_get(path, get_protection)
    router.add_put(path, put_protection)
    router.add_delete(path, delete_protection)
    router.add_get("/repos/{owner}/{repo}/rulesets", list_rulesets)
    router.add_post("/repos/{owner}/{repo}/rulesets", post_ruleset)
    router.add_get(r"/repos/{owner}/{repo}/rulesets/{ruleset_id:\d+}", get_ruleset)
    router.add_put(r"/repos/{owner}/{repo}/rulesets/{ruleset_id:\d+}", put_ruleset)
