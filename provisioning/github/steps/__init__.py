"""The GitHub step executors, by step kind."""

from __future__ import annotations

from provisioning.github.invitations import InvitationBudget
from provisioning.github.steps import (
    access,
    archive,
    invite,
    protection,
    repo,
    seed,
    team,
    uninvite,
)
from provisioning.step import Executor


def executors(invitations: InvitationBudget) -> dict[str, Executor]:
    """Executors by step kind, as `provisioning.runner.StepRunner` takes them; invitations
    to organizations take their places from `invitations`."""
    return {
        "github.team": team.ensure,
        "github.invite": invite.executor(invitations),
        "github.repo": repo.ensure,
        "github.seed": seed.ensure,
        "github.protection": protection.ensure,
        "github.access": access.ensure,
        # Removals: what a changed description no longer wants (`provisioning.courses.retire`).
        "github.uninvite": uninvite.ensure,
        "github.archive": archive.ensure,
    }
