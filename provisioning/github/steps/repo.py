"""`github.repo`: the course's private repository, created initialised and marked as ours.

Ownership: the marker topic, or (for a create whose answer was lost before the topic was set)
no topics and exactly the description we create it with. Anything else with the name is
someone else's and is never adopted.

Repositories are never deleted by the product, for any reason: they hold people's work. The
gateway has no call that deletes one, and no step, service or handler asks for it; a course that
ends is archived (read-only), a mistaken one is left for a person to remove by hand.
"""

from __future__ import annotations

import logging

from provisioning.errors import PlatformError, StepFailedError
from provisioning.github.errors import is_name_taken
from provisioning.github.gateway import RepoInfo
from provisioning.step import MARKER_TOPIC, StepContext, StepResult

log = logging.getLogger(__name__)


def _result(repo: RepoInfo) -> StepResult:
    return StepResult(
        external_id=str(repo.id),
        facts={
            "owner": repo.owner,
            "name": repo.name,
            "full_name": repo.full_name,
            "branch": repo.default_branch,
        },
    )


async def _topics(ctx: StepContext, repo: RepoInfo) -> tuple[str, ...]:
    if repo.topics is not None:
        return repo.topics
    return await ctx.github.get_topics(repo.owner, repo.name)


async def _adopt(ctx: StepContext, repo: RepoInfo, *, stored: bool) -> StepResult:
    """Check the repository is ours, then make its settings and marker match."""
    topics = await _topics(ctx, repo)
    description = ctx.params["description"]
    ours = stored or MARKER_TOPIC in topics or (not topics and repo.description == description)
    if not ours:
        raise StepFailedError(
            f"a repository named {repo.full_name} exists and is not ours: rename it or "
            "delete it, then retry"
        )
    private = bool(ctx.params.get("private", True))
    # An archived course's repositories are archived (read-only, GitHub refuses other writes
    # to them): unarchive before repairing, archive after.
    archived = bool(ctx.params.get("archived", False))
    if repo.archived and not archived:
        repo = await ctx.github.set_repo_archived(repo.owner, repo.name, archived=False)
    if repo.private != private or repo.description != description:
        repo = await ctx.github.update_repo(
            repo.owner, repo.name, description=description, private=private
        )
    if MARKER_TOPIC not in topics:
        await ctx.github.replace_topics(repo.owner, repo.name, [*topics, MARKER_TOPIC])
    if archived and not repo.archived:
        repo = await ctx.github.set_repo_archived(repo.owner, repo.name, archived=True)
    return _result(repo)


async def ensure(ctx: StepContext) -> StepResult:
    org, name = ctx.params["org"], ctx.params["name"]
    if ctx.external_id is not None:
        # Names can change; the id cannot. Ask by name (cheap, usual) and confirm the id.
        by_name = await ctx.github.get_repo(org, name)
        if by_name is not None and str(by_name.id) == ctx.external_id:
            return await _adopt(ctx, by_name, stored=True)
        by_id = await ctx.github.get_repo_by_id(int(ctx.external_id))
        if by_id is not None:
            return await _adopt(ctx, by_id, stored=True)
    found = await ctx.github.get_repo(org, name)
    if found is not None:
        return await _adopt(ctx, found, stored=False)
    try:
        created = await ctx.github.create_repo(
            org,
            name,
            description=ctx.params["description"],
            private=bool(ctx.params.get("private", True)),
        )
    except PlatformError as exc:
        # The create may have been applied before the error (5xx, dropped answer), or by our
        # own earlier attempt (422 name taken): look, and adopt only what is ours.
        if not (exc.retryable or is_name_taken(exc)):
            raise
        again = await ctx.github.get_repo(org, name)
        if again is None:
            raise
        log.info("repository create took effect despite an error", extra={"repo": name})
        return await _adopt(ctx, again, stored=False)
    await ctx.github.replace_topics(created.owner, created.name, [MARKER_TOPIC])
    return _result(created)
