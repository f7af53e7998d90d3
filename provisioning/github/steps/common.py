"""Helpers the GitHub step executors share: where a dependency's repository or team is."""

from __future__ import annotations

from dataclasses import dataclass

from provisioning.step import StepContext


@dataclass(frozen=True)
class RepoRef:
    owner: str
    name: str
    branch: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def dependency_key(ctx: StepContext, kind: str) -> str:
    """The one dependency of this step of `kind` (`github.repo`), by its key."""
    keys = [k for k in ctx.step.depends_on if k.startswith(kind + ":")]
    if len(keys) != 1:
        raise LookupError(f"{ctx.step.key} needs exactly one {kind} dependency, has {keys}")
    return keys[0]


def repo_ref(ctx: StepContext, key: str) -> RepoRef:
    """The repository a repo or seed step produced; its facts win over our params, because a
    repository renamed after creation keeps its id and the facts follow it."""
    facts = ctx.dependencies[key].facts
    return RepoRef(
        owner=str(facts.get("owner") or ctx.params["org"]),
        name=str(facts.get("name") or ctx.params["repo"]),
        branch=str(facts.get("branch") or "main"),
    )


def team_slug(ctx: StepContext, key: str) -> str:
    """The slug a team step produced (GitHub derives it from the name)."""
    return str(ctx.dependencies[key].facts["slug"])


def slugify(name: str) -> str:
    """GitHub's team slug for a name: lower case, anything but letters and digits a hyphen."""
    out = "".join(c if c.isalnum() else "-" for c in name.lower())
    return "-".join(part for part in out.split("-") if part)
