"""The GitHub step executors, by step kind."""

from __future__ import annotations

from provisioning.github.steps import access, invite, protection, repo, seed, team
from provisioning.step import Executor


def executors() -> dict[str, Executor]:
    """Executors by step kind, as `provisioning.runner.StepRunner` takes them."""
    return {
        "github.team": team.ensure,
        "github.invite": invite.ensure,
        "github.repo": repo.ensure,
        "github.seed": seed.ensure,
        "github.protection": protection.ensure,
        "github.access": access.ensure,
    }
