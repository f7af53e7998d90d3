"""Who made the change a Discord repair undid, from the server's own audit log.

Discord's guild audit log (`GET /guilds/{id}/audit-logs`, VIEW_AUDIT_LOG, which the install link
asks for) has an entry for each change, naming the person: the newest entry by someone other
than the bot for the repair's target is the change the repair undid. `describe_discord` says
what a repair write means and where its cause is in that log (a `Lookup`); `DiscordAttribution`
reads the log (once per action type and target for a whole report) and names the person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from provisioning.courses.drift_findings import (
    NO_DISCORD,
    NO_ENTRY,
    NO_SERVER,
    Finding,
    Write,
)
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


def is_discord(path: str) -> bool:
    """Whether a repair write went to Discord (else GitHub)."""
    return path.startswith(("/guilds/", "/channels/"))


def _newest(entries: Iterable[AuditEntry], bot_id: str, lookup: Lookup) -> AuditEntry | None:
    people = [e for e in entries if e.user_id not in (None, bot_id) and lookup.matches(e)]
    return max(people, key=lambda e: int(e.id), default=None)


class DiscordAttribution:
    """Names who made the changes the Discord repairs of one report undid; the server's audit
    log is read once per action type and target, and a read that failed says so in each
    finding that needed it."""

    def __init__(self, discord: DiscordGateway | None, guild_id: str | None) -> None:
        self._discord = discord
        self._guild_id = guild_id
        self._cache: dict[tuple[int, str | None], list[AuditEntry] | str] = {}
        self._bot_id: str | None = None

    async def finding(self, write: Write) -> Finding:
        """The write's finding, with who changed it and when, or why nobody is named."""
        finding, lookup = describe_discord(write.method, write.path, write.body)
        if lookup is None:
            return replace(finding, unknown_why=NO_ENTRY)
        if self._discord is None or self._guild_id is None:
            why = NO_DISCORD if self._discord is None else NO_SERVER
            return replace(finding, unknown_why=why)
        entries, failure = await self._entries(self._discord, self._guild_id, lookup)
        entry = _newest(entries, self._bot_id or "", lookup)
        if entry is None:
            return replace(finding, unknown_why=failure or NO_ENTRY)
        if lookup.detail is not None:
            finding = lookup.detail(finding, entry)
        return replace(
            finding,
            changed_by=entry.user_name or entry.user_id,
            changed_by_id=entry.user_id,
            changed_at=entry.at,
        )

    async def _entries(
        self, discord: DiscordGateway, guild_id: str, lookup: Lookup
    ) -> tuple[list[AuditEntry], str | None]:
        """The log's entries for `lookup`, and why some could not be read."""
        entries: list[AuditEntry] = []
        failure: str | None = None
        try:
            if self._bot_id is None:
                self._bot_id = await discord.bot_user_id()
            for action in lookup.action_types:
                key = (action, lookup.target_id)
                if key not in self._cache:
                    try:
                        self._cache[key] = await discord.audit_log(
                            guild_id, action_type=action, target_id=lookup.target_id
                        )
                    except PlatformError as exc:
                        self._cache[key] = f"the server's audit log could not be read ({exc})"
                got = self._cache[key]
                if isinstance(got, str):
                    failure = got
                else:
                    entries.extend(got)
        except PlatformError as exc:
            failure = f"the server's audit log could not be read ({exc})"
        return entries, failure
