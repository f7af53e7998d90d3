"""What the Discord client sends when a person uses an app: INTERACTION_CREATE dispatches.

A slash command (type 2), typing into an autocompleted option (type 4), clicking a button of a
message (type 3) and submitting a modal the bot opened (type 5). Each dispatch carries what the
real client's does (PLATFORM.md §3.4: member with permissions, app_permissions, channel,
`attachment_size_limit`, resolved attachments); the bot answers over REST
(`sandbox.discord.interactions`).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from sandbox.discord.interactions import ControlError, find_message
from sandbox.discord.models import Attachment, Guild, Interaction, Message
from sandbox.discord.permissions import channel_permissions
from sandbox.discord.serialize import channel_json, member_json, message_json
from sandbox.discord.state import DiscordState

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
EPHEMERAL = 64
_BUTTON = 2
_TEXT_INPUT = 4
_LABEL = 18


def _attachment(state: DiscordState, spec: Any, base_url: str) -> tuple[int, dict[str, Any]]:
    if not isinstance(spec, dict) or "filename" not in spec:
        raise ControlError(400, "attachment needs filename and text or base64")
    if "base64" in spec:
        try:
            data = base64.b64decode(str(spec["base64"]), validate=True)
        except binascii.Error as exc:
            raise ControlError(400, "attachment base64 is not valid") from exc
    else:
        data = str(spec.get("text", "")).encode()
    limit = state.config.limits.attachment_size_limit
    if len(data) > limit:
        # The client refuses to upload it; the bot never hears of it.
        raise ControlError(413, f"attachments may have at most {limit} bytes")
    att = Attachment(
        id=state.new_id(),
        filename=str(spec["filename"]),
        content_type=str(spec.get("content_type", "application/octet-stream")),
        data_b64=base64.b64encode(data).decode(),
        size=len(data),
    )
    state.world.attachments[att.id] = att
    url = f"{base_url}/_sandbox/discord/attachments/{att.id}"
    return att.id, {
        "id": str(att.id),
        "filename": att.filename,
        "size": att.size,
        "url": url,
        "proxy_url": url,
        "content_type": att.content_type,
    }


def _options(
    state: DiscordState, options: Any, base_url: str, resolved: dict[str, Any]
) -> list[dict[str, Any]]:
    if not isinstance(options, list):
        raise ControlError(400, "options must be a list")
    out: list[dict[str, Any]] = []
    for opt in options:
        if not isinstance(opt, dict) or "name" not in opt or "type" not in opt:
            raise ControlError(400, "each option needs name and type")
        try:
            item: dict[str, Any] = {"name": opt["name"], "type": int(opt["type"])}
        except (TypeError, ValueError) as exc:
            raise ControlError(400, "an option's type must be an integer") from exc
        if item["type"] in (1, 2):
            item["options"] = _options(state, opt.get("options", []), base_url, resolved)
        elif item["type"] == 11:
            att_id, att = _attachment(state, opt.get("attachment"), base_url)
            resolved.setdefault("attachments", {})[str(att_id)] = att
            item["value"] = str(att_id)
        else:
            item["value"] = opt.get("value")
        if opt.get("focused"):
            item["focused"] = True
        out.append(item)
    return out


def _guild_and_channel(
    state: DiscordState, guild_id: int, channel_id: int | None, user_id: int
) -> tuple[Guild, int]:
    guild = state.world.guilds.get(guild_id)
    if guild is None or state.bot_id not in guild.members:
        raise ControlError(404, "the bot is not in that guild")
    if user_id not in guild.members:
        raise ControlError(400, "the user is not a member of that guild")
    if channel_id is None:
        texts = sorted(
            (c for c in guild.channels.values() if c.type == 0), key=lambda c: c.position
        )
        if not texts:
            raise ControlError(400, "the guild has no text channel")
        channel_id = texts[0].id
    if channel_id not in guild.channels:
        raise ControlError(404, "unknown channel")
    return guild, channel_id


def _dispatch(
    state: DiscordState,
    *,
    kind: int,
    guild: Guild,
    channel_id: int,
    user_id: int,
    name: str,
    data: dict[str, Any],
    message: Message | None = None,
) -> Interaction:
    """Record the interaction and send INTERACTION_CREATE to the bot."""
    channel = guild.channels[channel_id]
    member_payload = member_json(guild.members[user_id], state.world.users[user_id])
    member_payload["permissions"] = str(channel_permissions(guild, channel, user_id))
    interaction = Interaction(
        id=state.new_id(),
        token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        created_at=state.now(),
        guild_id=guild.id,
        channel_id=channel.id,
        user_id=user_id,
        name=name,
        type=kind,
        source_message_id=None if message is None else message.id,
    )
    interaction.payload = {
        "id": str(interaction.id),
        "application_id": str(state.world.application_id),
        "type": kind,
        "token": interaction.token,
        "version": 1,
        "attachment_size_limit": state.config.limits.attachment_size_limit,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
        "guild_locale": guild.preferred_locale,
        "channel_id": str(channel.id),
        "channel": channel_json(channel),
        "member": member_payload,
        "app_permissions": str(channel_permissions(guild, channel, state.bot_id)),
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "data": data,
    }
    if message is not None:
        interaction.payload["message"] = message_json(
            message, state.bot, state.world.application_id
        )
    state.world.interactions[interaction.id] = interaction
    state.emit("INTERACTION_CREATE", interaction.payload, guild.id)
    return interaction


def run_command(
    state: DiscordState,
    *,
    guild_id: int,
    channel_id: int | None,
    user_id: int,
    name: str,
    options: Any,
    base_url: str,
    autocomplete: bool = False,
) -> Interaction:
    """A person runs `/name options…` (or, with `autocomplete`, types into the option marked
    `focused`): dispatch an APPLICATION_COMMAND (or AUTOCOMPLETE) interaction to the bot."""
    guild, channel_id = _guild_and_channel(state, guild_id, channel_id, user_id)
    resolved: dict[str, Any] = {}
    opts = _options(state, options or [], base_url, resolved)
    if autocomplete and not _has_focus(opts):
        raise ControlError(400, "autocomplete needs one option with focused: true")
    registered = [
        c
        for c in state.world.commands.values()
        if c.name == name and c.guild_id in (None, guild.id)
    ]
    # Unregistered commands still dispatch: discord.py's CommandTree routes by name.
    command_id = registered[0].id if registered else state.new_id()
    data: dict[str, Any] = {
        "id": str(command_id),
        "name": name,
        "type": 1,
        "options": opts,
        "guild_id": str(guild.id),
    }
    if resolved:
        data["resolved"] = resolved
    kind = AUTOCOMPLETE if autocomplete else APPLICATION_COMMAND
    return _dispatch(
        state, kind=kind, guild=guild, channel_id=channel_id, user_id=user_id, name=name, data=data
    )


def _has_focus(options: list[dict[str, Any]]) -> bool:
    return any(o.get("focused") or _has_focus(o.get("options", [])) for o in options)


def _components(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component of a message or modal, rows, labels and containers opened."""
    found: list[dict[str, Any]] = []
    for item in rows:
        found.append(item)
        found += _components(item.get("components", []))
        if isinstance(item.get("component"), dict):
            found += _components([item["component"]])
    return found


def click(state: DiscordState, *, message_id: int, user_id: int, custom_id: str) -> Interaction:
    """A person clicks the button `custom_id` of a message the bot sent."""
    found = find_message(state.world, message_id)
    if found is None:
        raise ControlError(404, "unknown message")
    source, message = found
    if message.flags & EPHEMERAL and source.user_id != user_id:
        raise ControlError(404, "an ephemeral message is seen only by whoever ran the command")
    button = next(
        (c for c in _components(message.components) if c.get("custom_id") == custom_id), None
    )
    if button is None or button.get("type") != _BUTTON:
        raise ControlError(404, f"the message has no button {custom_id!r}")
    if button.get("disabled"):
        raise ControlError(409, f"the button {custom_id!r} is disabled")
    guild_id = source.guild_id
    if guild_id is None:
        raise ControlError(400, "the message is not in a guild")
    guild, channel_id = _guild_and_channel(state, guild_id, message.channel_id, user_id)
    data = {"custom_id": custom_id, "component_type": _BUTTON}
    return _dispatch(
        state,
        kind=MESSAGE_COMPONENT,
        guild=guild,
        channel_id=channel_id,
        user_id=user_id,
        name=source.name,
        data=data,
        message=message,
    )


def _filled(components: list[dict[str, Any]], values: dict[str, str]) -> list[dict[str, Any]]:
    """The modal's components as the client submits them: each text input with its value."""
    out: list[dict[str, Any]] = []
    for item in components:
        kind = item.get("type")
        if kind == _TEXT_INPUT:
            custom_id = str(item.get("custom_id"))
            value = values.get(custom_id, str(item.get("value") or ""))
            _check_input(item, value)
            out.append(
                {"type": _TEXT_INPUT, "id": item.get("id"), "custom_id": custom_id, "value": value}
            )
        elif kind == _LABEL and isinstance(item.get("component"), dict):
            out.append(
                {
                    "type": _LABEL,
                    "id": item.get("id"),
                    "component": _filled([item["component"]], values)[0],
                }
            )
        elif "components" in item:
            out.append(
                {
                    "type": kind,
                    "id": item.get("id"),
                    "components": _filled(item["components"], values),
                }
            )
    return out


def _check_input(item: dict[str, Any], value: str) -> None:
    """What the client enforces before it lets a person submit."""
    label = item.get("label") or item.get("custom_id")
    if item.get("required", True) and not value:
        raise ControlError(400, f"{label} is required")
    low, high = int(item.get("min_length") or 0), int(item.get("max_length") or 4000)
    if value and not low <= len(value) <= high:
        raise ControlError(400, f"{label} must have {low} to {high} characters")


def submit_modal(
    state: DiscordState, *, interaction_id: int, user_id: int | None, values: dict[str, str]
) -> Interaction:
    """The person who saw the modal fills it in and submits it: MODAL_SUBMIT."""
    opened = state.world.interactions.get(interaction_id)
    if opened is None:
        raise ControlError(404, "unknown interaction")
    if opened.modal is None:
        raise ControlError(409, "the bot opened no modal for this interaction (or it was sent)")
    if user_id is not None and user_id != opened.user_id:
        raise ControlError(403, "only the person the modal was shown to can submit it")
    if opened.guild_id is None:
        raise ControlError(400, "the interaction is not in a guild")
    known = {str(c.get("custom_id")) for c in _components(opened.modal.get("components", []))}
    unknown_fields = sorted(set(values) - known)
    if unknown_fields:
        raise ControlError(400, f"the modal has no field {unknown_fields[0]!r}")
    data = {
        "custom_id": opened.modal.get("custom_id"),
        "components": _filled(opened.modal.get("components", []), values),
    }
    guild, channel_id = _guild_and_channel(
        state, opened.guild_id, opened.channel_id, opened.user_id
    )
    source = None
    if opened.source_message_id is not None:
        found = find_message(state.world, opened.source_message_id)
        source = None if found is None else found[1]
    opened.modal = None  # the client closes it
    submitted = _dispatch(
        state,
        kind=MODAL_SUBMIT,
        guild=guild,
        channel_id=channel_id,
        user_id=opened.user_id,
        name=opened.name,
        data=data,
        message=source,
    )
    submitted.triggered_by = opened.id
    return submitted
