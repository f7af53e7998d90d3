"""What the Discord executors share: our audit-log marker, the guild id, error translation,
and "create exactly once" after a create whose answer was lost or sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn, Protocol, TypeVar

from provisioning.discord.gateway import Created, DiscordGateway
from provisioning.errors import ActionRequiredError, PlatformError
from provisioning.step import StepContext

log = logging.getLogger(__name__)

SERVER_KEY = "discord.server"
MISSING_PERMISSIONS = 50013
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
HIERARCHY_MESSAGE = (
    "In Server Settings > Roles, drag the bot's role above Instructor, TA, Student and the lab "
    "roles, then retry"
)
_LIMITS = {
    30005: (
        "discord.roles_limit",
        "The server has 250 roles, Discord's maximum: delete roles the course does not use "
        "(Server Settings > Roles), then retry",
    ),
    30013: (
        "discord.channels_limit",
        "The server has 500 channels, Discord's maximum: delete channels the course does not "
        "use, then retry",
    ),
    30016: (
        "discord.invites_limit",
        "The server has 1000 invites, Discord's maximum: delete old invites (Server Settings > "
        "Invites), then retry",
    ),
}


class HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)


def reason(ctx: StepContext) -> str:
    """Our marker on every write, as `X-Audit-Log-Reason`. Deterministic per course and step,
    so an attempt after a crash recognises what an earlier attempt created."""
    return f"cp op={ctx.course_id}/{ctx.step.key}"


def guild_id(ctx: StepContext) -> str:
    """The claimed guild: the server step's id, or carried in any dependency's facts."""
    server = ctx.dependencies.get(SERVER_KEY)
    if server is not None and server.external_id:
        return server.external_id
    for result in ctx.dependencies.values():
        value = result.facts.get("guild_id")
        if isinstance(value, str) and value:
            return value
    raise LookupError(f"{ctx.step.key}: no dependency carries the guild id")


def hierarchy_error() -> ActionRequiredError:
    return ActionRequiredError("discord.role_hierarchy", HIERARCHY_MESSAGE)


def translate(exc: PlatformError, *, roles: bool = False) -> Exception:
    """A platform refusal a person must fix, as `ActionRequiredError`; else the error itself.

    `roles`: the call touched roles, so 50013 means the hierarchy (the permissions themselves
    were checked when the server was claimed).
    """
    if exc.code in _LIMITS:
        action, message = _LIMITS[exc.code]
        return ActionRequiredError(action, message)
    if roles and exc.code == MISSING_PERMISSIONS:
        return hierarchy_error()
    return exc


def raise_translated(exc: PlatformError, *, roles: bool = False) -> NoReturn:
    """Raise what `translate` makes of `exc` (from `exc`), or `exc` itself."""
    error = translate(exc, roles=roles)
    if error is exc:
        raise exc
    raise error from exc


def ambiguous(exc: PlatformError) -> bool:
    """No answer, or a server error: the create may or may not have happened."""
    return exc.status == 0 or exc.status >= 500


async def keep_one(
    found: Sequence[T],
    *,
    marker: str,
    preferred: str | None,
    delete: Callable[[T], Awaitable[None]],
) -> T:
    """Of the same-name resources found straight after our create, keep one and delete the rest.

    We create only when no match existed before, so every match is ours: a create discord.py
    sent again, or one whose answer was lost. The audit log cannot tell them apart reliably (it
    is eventually consistent: a fresh entry may be missing). Kept: the id our create returned,
    else the lowest (oldest) id.
    """
    # A role an integration manages is never one we created (nor one we could delete).
    ours = [f for f in found if not getattr(f, "managed", False)]
    if not ours:
        return min(found, key=lambda f: int(f.id))
    ids = [f.id for f in ours]
    keep = preferred if preferred in ids else min(ids, key=int)
    kept = next(f for f in ours if f.id == keep)
    for extra in ours:
        if extra.id != keep:
            log.warning("deleting a duplicate we created", extra={"id": extra.id, "marker": marker})
            await delete(extra)
    return kept


async def adopt(
    by_id: T | None,
    matching: Sequence[T],
    *,
    marker: str,
    delete: Callable[[T], Awaitable[None]],
) -> T | None:
    """What a step takes as its resource: the one its stored id names, else the oldest match.

    Extras matching as well are duplicates an earlier attempt left (its clean-up failed
    half-way); in the course's own server they are ours, and are deleted (PLATFORM.md §1.10).
    """
    kept = by_id if by_id is not None else min(matching, key=lambda m: int(m.id), default=None)
    if kept is not None and len(matching) > 1 and kept in matching:
        kept = await keep_one(matching, marker=marker, preferred=kept.id, delete=delete)
    return kept


async def create_once(
    gateway: DiscordGateway,
    guild: str,
    *,
    create: Callable[[], Awaitable[Created[T]]],
    relist: Callable[[], Awaitable[list[T]]],
    action_type: int,
    marker: str,
    delete: Callable[[T], Awaitable[None]],
    roles: bool = False,
) -> T:
    """Create, and make sure exactly one resource results.

    discord.py re-sends a POST after a 500/502/504, so a create that "succeeded" may have made
    two; one that failed with no answer or a 5xx may have made one. Either way `relist` (the
    same-name resources now present) decides: the caller creates only when none existed, so
    each one is ours and all but one are deleted (`keep_one`). `gateway`, `guild` and
    `action_type` are kept for callers; the audit log is not consulted (it may lag).
    """
    try:
        created = await create()
    except PlatformError as exc:
        if not ambiguous(exc):
            raise_translated(exc, roles=roles)
        found = await relist()
        if not found:
            raise
        log.info("create failed ambiguously but took effect", extra={"marker": marker})
        return await keep_one(found, marker=marker, preferred=None, delete=delete)
    if not created.resent:
        return created.value
    found = await relist()
    if not found:
        return created.value
    return await keep_one(found, marker=marker, preferred=created.value.id, delete=delete)
