"""What one repair of a reconcile means to a person, and who made the change it undid.

A repair is a write a re-verifying step made (`reconcile.Repair`: step, method, path). Each is
described as the resource, what differed and what was repaired. Who changed it and when comes
from the platform's own audit log where there is one: Discord's guild audit log
(`GET /guilds/{id}/audit-logs`, VIEW_AUDIT_LOG, which the install link asks for) has an entry for
each change, naming the person; the newest entry by someone other than the bot for that target
is the change the repair undid. GitHub has no such log for an organization on its public API
(the organization audit log is GitHub Enterprise Cloud's; the public events API shows no team or
protection changes), so a GitHub repair says that instead of guessing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from provisioning.discord.gateway import (
    AUDIT_CHANNEL_DELETE,
    AUDIT_CHANNEL_UPDATE,
    AUDIT_GUILD_UPDATE,
    AUDIT_INVITE_DELETE,
    AUDIT_MEMBER_ROLE_UPDATE,
    AUDIT_OVERWRITE_CREATE,
    AUDIT_OVERWRITE_DELETE,
    AUDIT_OVERWRITE_UPDATE,
    AUDIT_ROLE_DELETE,
    AUDIT_ROLE_UPDATE,
    AuditEntry,
    DiscordGateway,
)
from provisioning.errors import PlatformError

log = logging.getLogger(__name__)

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
class Lookup:
    """Where the change a Discord repair undid is in the guild's audit log."""

    action_types: tuple[int, ...]
    target_id: str | None
    matches: Callable[[AuditEntry], bool]
    # The finding in the entry's words (the role's name, the member's), once it is found.
    detail: Callable[[Finding, AuditEntry], Finding] | None = None


def _role_change(key: str, role_id: str) -> Callable[[AuditEntry], bool]:
    def matches(entry: AuditEntry) -> bool:
        return any(
            c.key == key and any(str(r.get("id")) == role_id for r in c.new_value or [])
            for c in entry.changes
        )

    return matches


def _role_taken(role_id: str) -> Callable[[Finding, AuditEntry], Finding]:
    def detail(finding: Finding, entry: AuditEntry) -> Finding:
        name = role_id
        for change in entry.changes:
            for role in change.new_value or []:
                if str(role.get("id")) == role_id and role.get("name"):
                    name = str(role["name"])
        member = finding.resource
        if entry.target_name:
            member = f"Discord member {entry.target_name}"
        return replace(
            finding,
            resource=member,
            differed=f"the role {name} was taken away",
            repaired=f"the role {name} given back",
        )

    return detail


def _overwrite_changed(target: str) -> Callable[[Finding, AuditEntry], Finding]:
    def detail(finding: Finding, entry: AuditEntry) -> Finding:
        whose = entry.options.get("role_name") or target
        return replace(finding, differed=f"the permissions for {whose} were changed or removed")

    return detail


def _old_name(name: str) -> Callable[[AuditEntry], bool]:
    return lambda e: any(c.key == "name" and c.old_value == name for c in e.changes)


def _overwrite_of(target: str) -> Callable[[AuditEntry], bool]:
    return lambda e: e.options.get("id") == target


def _invite_of(channel: str) -> Callable[[AuditEntry], bool]:
    return lambda e: any(c.key == "channel_id" and str(c.old_value) == channel for c in e.changes)


def _anything(_: AuditEntry) -> bool:
    return True


def _name(body: dict[str, Any] | None) -> str | None:
    value = (body or {}).get("name")
    return value if isinstance(value, str) else None


def describe_discord(
    method: str, path: str, body: dict[str, Any] | None
) -> tuple[Finding, Lookup | None]:
    """A Discord repair in words, and where its cause is in the audit log."""
    if m := re.fullmatch(r"/guilds/\d+/members/(\d+)/roles/(\d+)", path):
        user, role = m.groups()
        if method == "PUT":
            return Finding(
                f"Discord member {user}", "a course role was taken away", "the role given back"
            ), Lookup(
                (AUDIT_MEMBER_ROLE_UPDATE,), user, _role_change("$remove", role), _role_taken(role)
            )
        return Finding(
            f"Discord member {user}",
            "was given a role the course no longer gives them",
            "the role taken away again",
        ), Lookup((AUDIT_MEMBER_ROLE_UPDATE,), user, _role_change("$add", role), None)
    if m := re.fullmatch(r"/channels/(\d+)/permissions/(\d+)", path):
        channel, target = m.groups()
        return Finding(
            f"Discord channel {channel}",
            "who may see or post there was changed",
            "the channel's permissions for that role or member set back",
        ), Lookup(
            (AUDIT_OVERWRITE_DELETE, AUDIT_OVERWRITE_UPDATE, AUDIT_OVERWRITE_CREATE),
            channel,
            _overwrite_of(target),
            _overwrite_changed(target),
        )
    if re.fullmatch(r"/guilds/\d+/roles", path) and method == "POST":
        name = _name(body) or "a course role"
        return Finding(
            f"Discord role {name}", "the role was deleted", "the role created again"
        ), Lookup((AUDIT_ROLE_DELETE,), None, _old_name(name) if _name(body) else _anything)
    if m := re.fullmatch(r"/guilds/\d+/roles/(\d+)", path):
        return Finding(
            f"Discord role {m.group(1)}", "the role's settings were changed", "set back"
        ), Lookup((AUDIT_ROLE_UPDATE,), m.group(1), _anything)
    if re.fullmatch(r"/guilds/\d+/channels", path) and method == "POST":
        name = _name(body) or "a course channel"
        return Finding(
            f"Discord channel #{name}", "the channel was deleted", "the channel created again"
        ), Lookup((AUDIT_CHANNEL_DELETE,), None, _old_name(name) if _name(body) else _anything)
    if m := re.fullmatch(r"/channels/(\d+)", path):
        return Finding(
            f"Discord channel {m.group(1)}", "the channel's settings were changed", "set back"
        ), Lookup((AUDIT_CHANNEL_UPDATE,), m.group(1), _anything)
    if m := re.fullmatch(r"/channels/(\d+)/invites", path):
        return Finding(
            f"Discord invite link of channel {m.group(1)}",
            "the invite link had expired or was deleted",
            "a new invite link made",
        ), Lookup((AUDIT_INVITE_DELETE,), None, _invite_of(m.group(1)))
    if m := re.fullmatch(r"/guilds/(\d+)", path):
        return Finding(
            f"Discord server {m.group(1)}", "the server's name was changed", "renamed back"
        ), Lookup((AUDIT_GUILD_UPDATE,), m.group(1), _anything)
    return Finding(
        f"Discord {path}", "it differed from the course description", f"{method} {path}"
    ), None


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


@dataclass(frozen=True)
class Write:
    """One repair write to explain: its audit row id, and what was sent."""

    audit_id: int
    method: str
    path: str
    body: dict[str, Any] | None


def _is_discord(path: str) -> bool:
    return path.startswith(("/guilds/", "/channels/"))


def _newest(entries: Iterable[AuditEntry], bot_id: str, lookup: Lookup) -> AuditEntry | None:
    people = [e for e in entries if e.user_id not in (None, bot_id) and lookup.matches(e)]
    return max(people, key=lambda e: int(e.id), default=None)


async def explain(
    writes: list[Write], discord: DiscordGateway | None, guild_id: str | None
) -> dict[int, Finding]:
    """Each write's finding, by audit row id; Discord's audit log read once per action type
    and target."""
    out: dict[int, Finding] = {}
    cache: dict[tuple[int, str | None], list[AuditEntry] | str] = {}
    bot_id: str | None = None
    for write in writes:
        if not _is_discord(write.path):
            out[write.audit_id] = describe_github(write.method, write.path)
            continue
        finding, lookup = describe_discord(write.method, write.path, write.body)
        if lookup is None:
            out[write.audit_id] = replace(finding, unknown_why=NO_ENTRY)
            continue
        if discord is None or guild_id is None:
            why = NO_DISCORD if discord is None else NO_SERVER
            out[write.audit_id] = replace(finding, unknown_why=why)
            continue
        entries: list[AuditEntry] = []
        failure: str | None = None
        try:
            if bot_id is None:
                bot_id = await discord.bot_user_id()
            for action in lookup.action_types:
                key = (action, lookup.target_id)
                if key not in cache:
                    try:
                        cache[key] = await discord.audit_log(
                            guild_id, action_type=action, target_id=lookup.target_id
                        )
                    except PlatformError as exc:
                        cache[key] = f"the server's audit log could not be read ({exc})"
                got = cache[key]
                if isinstance(got, str):
                    failure = got
                else:
                    entries.extend(got)
        except PlatformError as exc:
            failure = f"the server's audit log could not be read ({exc})"
        entry = _newest(entries, bot_id or "", lookup)
        if entry is None:
            out[write.audit_id] = replace(finding, unknown_why=failure or NO_ENTRY)
            continue
        if lookup.detail is not None:
            finding = lookup.detail(finding, entry)
        out[write.audit_id] = replace(
            finding,
            changed_by=entry.user_name or entry.user_id,
            changed_by_id=entry.user_id,
            changed_at=entry.at,
        )
    return out
