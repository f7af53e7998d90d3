"""A GitHub App's installations as GitHub keeps them: uninstalled (deleted) and suspended.

Shared by the App's JWT routes (`routes_apps`), the control API a person acts through
(`control`), the token mint (`routes_users`) and authentication (`auth`), so every door does
the same thing. GitHub's own texts: minting a token for a suspended installation answers 403
"This installation has been suspended"; a token minted before answers 403 too, naming the
account and when access was suspended (who suspended it decides the words).
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.github.config import AppSpec, Suspension
from sandbox.github.context import GitHubContext
from sandbox.github.urls import iso

SUSPENDED_MINT = "This installation has been suspended"


@dataclass(frozen=True)
class Found:
    """An installation and the App it belongs to."""

    app: AppSpec
    installation_id: int
    org: str


def find(ctx: GitHubContext, installation_id: int, app_id: int | None = None) -> Found | None:
    """The installation `installation_id` (of the App `app_id` when given), if it exists."""
    for app in ctx.world.apps:
        if app_id is not None and app.app_id != app_id:
            continue
        org = app.installations.get(installation_id)
        if org is not None:
            return Found(app, installation_id, org)
    return None


def suspension(ctx: GitHubContext, installation_id: int) -> Suspension | None:
    found = find(ctx, installation_id)
    return None if found is None else found.app.suspended.get(installation_id)


def suspend(found: Found, at: float, by: str, *, by_app_owner: bool) -> None:
    """Suspended from now (again: the first suspension stands, as on GitHub)."""
    found.app.suspended.setdefault(
        found.installation_id, Suspension(at=at, by=by, by_app_owner=by_app_owner)
    )


def unsuspend(found: Found) -> None:
    found.app.suspended.pop(found.installation_id, None)


def uninstall(ctx: GitHubContext, found: Found) -> None:
    """The installation deleted: its tokens are revoked with it; installing again is a new id."""
    found.app.installations.pop(found.installation_id, None)
    found.app.suspended.pop(found.installation_id, None)
    tokens = ctx.state.installation_tokens
    for token in [t for t, i in tokens.items() if i.installation_id == found.installation_id]:
        del tokens[token]


def refused_message(org: str, held: Suspension) -> str:
    """What a call with a token minted before the suspension is answered (403)."""
    if held.by_app_owner:
        return f"You suspended this installation owned by {org} at {iso(held.at)}"
    return f"Sorry. This installation owned by {org} suspended your access at {iso(held.at)}."
