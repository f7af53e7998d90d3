"""What one repair of a reconcile means to a person: the findings model.

A repair is a write a re-verifying step made (`drift_report.Repair`: step, method, path). Each is
described as the resource, what differed and what was repaired (a `Finding`), and who made the
change it undid when that is known, or why it is not. Discord names the person in its guild
audit log (`discord_attribution`). GitHub has no such log for an organization on its public API
(the organization audit log is GitHub Enterprise Cloud's; the public events API shows no team or
protection changes), so a GitHub repair says that instead of guessing (`describe_github`).
`drift_explain.explain` gives each write of a reconcile its finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

GITHUB_UNKNOWN = (
    "not available from GitHub (the organization audit log API needs GitHub Enterprise Cloud)"
)
NO_ENTRY = "no one is named for it in the server's audit log (entries are kept 45 days)"
NO_DISCORD = "the server's audit log was not read (no Discord connection here)"
NO_SERVER = "the course has no Discord server"


@dataclass(frozen=True)
class Finding:
    """One repaired item as a person reads it."""

    resource: str
    differed: str
    repaired: str
    changed_by: str | None = None
    changed_by_id: str | None = None
    changed_at: datetime | None = None
    # Why `changed_by` is unknown, when it is.
    unknown_why: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "differed": self.differed,
            "repaired": self.repaired,
            "changed_by": self.changed_by,
            "changed_by_id": self.changed_by_id,
            "changed_at": None if self.changed_at is None else self.changed_at.isoformat(),
            "unknown_why": self.unknown_why,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        at = data.get("changed_at")
        return cls(
            resource=str(data.get("resource", "")),
            differed=str(data.get("differed", "")),
            repaired=str(data.get("repaired", "")),
            changed_by=data.get("changed_by"),
            changed_by_id=data.get("changed_by_id"),
            changed_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
            unknown_why=data.get("unknown_why"),
        )


@dataclass(frozen=True)
class Write:
    """One repair write to explain: its audit row id, and what was sent."""

    audit_id: int
    method: str
    path: str
    body: dict[str, Any] | None


def describe_github(method: str, path: str) -> Finding:
    """A GitHub repair in words (who made the change is not available, see above)."""
    finding = Finding(
        f"GitHub {path}",
        "it differed from the course description",
        f"{method} {path}",
        unknown_why=GITHUB_UNKNOWN,
    )
    if m := re.fullmatch(r"/orgs/[^/]+/teams/([^/]+)/memberships/([^/]+)", path):
        team, login = m.groups()
        return replace(
            finding,
            resource=f"GitHub team {team}",
            differed=f"{login} was no longer a member",
            repaired=f"{login} added back (invited again if they left the organization)",
        )
    if m := re.fullmatch(r"/orgs/[^/]+/teams/([^/]+)/repos/[^/]+/([^/]+)", path):
        team, repo = m.groups()
        return replace(
            finding,
            resource=f"GitHub repository {repo}",
            differed=f"team {team}'s access was removed or changed",
            repaired=f"team {team}'s access set back",
        )
    if m := re.fullmatch(r"/repos/[^/]+/([^/]+)/branches/([^/]+)/protection", path):
        repo, branch = m.groups()
        return replace(
            finding,
            resource=f"GitHub repository {repo}, branch {branch}",
            differed="its protection was removed or changed",
            repaired="branch protection set back",
        )
    if m := re.fullmatch(r"/orgs/[^/]+/invitations", path):
        return replace(
            finding,
            resource="GitHub organization invitation",
            differed="the invitation had expired or was cancelled",
            repaired="invited again",
        )
    if m := re.fullmatch(r"/repos/[^/]+/([^/]+)", path):
        return replace(
            finding,
            resource=f"GitHub repository {m.group(1)}",
            differed="its settings were changed",
            repaired="settings set back",
        )
    return finding
