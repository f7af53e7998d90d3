"""The Discord world as one person sees it in the client: their servers, the channels they may
view (permissions computed as Discord does), roles, members and the messages of a channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.console.invocation import Invocation, invocation
from sandbox.discord.models import Channel, Guild, Interaction, Message, User
from sandbox.discord.permissions import VIEW_CHANNEL, channel_permissions, role_key
from sandbox.discord.routes_invites import invite_usable
from sandbox.discord.state import DiscordState

EPHEMERAL = 64
LOADING = 128
CATEGORY = 4
TEXT_INPUT, LABEL = 4, 18
CHANNEL_KINDS = {0: "text", 2: "voice", 4: "category", 5: "announcement", 13: "stage"}


@dataclass(frozen=True)
class ChannelRow:
    id: int
    name: str
    kind: str


@dataclass
class CategoryGroup:
    """A category and the channels under it that the person sees (name "" for none)."""

    name: str
    channels: list[ChannelRow] = field(default_factory=list)


@dataclass(frozen=True)
class MemberRow:
    name: str
    roles: list[str]
    is_owner: bool
    is_bot: bool


@dataclass(frozen=True)
class ShownMessage:
    """A bot message as the client shows it; `ephemeral` ones are shown to one person only.
    Above it, as in Discord, who ran which command (`invocation`)."""

    message: Message
    author: str
    ephemeral: bool
    loading: bool
    invocation: Invocation


def display_name(user: User) -> str:
    return user.global_name or user.username


def people(state: DiscordState) -> list[User]:
    """Everyone a person may act as (not the bot), by name."""
    return sorted((u for u in state.world.users.values() if not u.bot), key=lambda u: u.username)


def guilds_of(state: DiscordState, user_id: int) -> list[Guild]:
    return sorted(
        (g for g in state.world.guilds.values() if user_id in g.members), key=lambda g: g.name
    )


def can_view(guild: Guild, channel: Channel, user_id: int) -> bool:
    return bool(channel_permissions(guild, channel, user_id) & VIEW_CHANNEL)


def visible_channels(guild: Guild, user_id: int) -> list[CategoryGroup]:
    """The channel list of the client: categories in order, each with its visible channels.

    A category is listed when the person sees a channel in it (the client hides empty ones).
    """
    categories = sorted(
        (c for c in guild.channels.values() if c.type == CATEGORY), key=lambda c: (c.position, c.id)
    )
    groups = [CategoryGroup("")] + [CategoryGroup(c.name) for c in categories]
    index = {c.id: i + 1 for i, c in enumerate(categories)}
    channels = sorted(
        (c for c in guild.channels.values() if c.type != CATEGORY),
        key=lambda c: (c.position, c.id),
    )
    for channel in channels:
        if can_view(guild, channel, user_id):
            kind = CHANNEL_KINDS.get(channel.type, str(channel.type))
            group = groups[index.get(channel.parent_id or 0, 0)]
            group.channels.append(ChannelRow(channel.id, channel.name, kind))
    return [g for g in groups if g.channels]


def roles_of(guild: Guild) -> list[tuple[str, int, bool]]:
    """(name, member count, managed) from the highest role down, as the server settings list."""
    counts = dict.fromkeys(guild.roles, 0)
    for member in guild.members.values():
        for rid in member.roles:
            if rid in counts:
                counts[rid] += 1
    ordered = sorted(guild.roles.values(), key=role_key, reverse=True)
    everyone = len(guild.members)
    return [(r.name, everyone if r.id == guild.id else counts[r.id], r.managed) for r in ordered]


def members_of(state: DiscordState, guild: Guild) -> list[MemberRow]:
    rows = []
    for member in guild.members.values():
        user = state.world.users.get(member.user_id)
        if user is None:
            continue
        roles = sorted(
            (guild.roles[r] for r in member.roles if r in guild.roles), key=role_key, reverse=True
        )
        rows.append(
            MemberRow(
                name=member.nick or display_name(user),
                roles=[r.name for r in roles],
                is_owner=guild.owner_id == user.id,
                is_bot=user.bot,
            )
        )
    return sorted(rows, key=lambda m: (m.is_bot, m.name.lower()))


@dataclass(frozen=True)
class ModalInput:
    """One text input of a modal the bot opened (style 1 short, 2 paragraph)."""

    custom_id: str
    label: str
    description: str
    paragraph: bool
    required: bool
    min_length: int | None
    max_length: int | None
    placeholder: str
    value: str


def modal_inputs(modal: dict[str, Any]) -> list[ModalInput]:
    """The text inputs of a modal, in order: in action rows (type 1) or labels (type 18)."""
    found: list[ModalInput] = []

    def walk(items: list[Any], label: str, description: str) -> None:
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == TEXT_INPUT:
                found.append(
                    ModalInput(
                        custom_id=str(item.get("custom_id", "")),
                        label=str(item.get("label") or label or item.get("custom_id", "")),
                        description=description,
                        paragraph=item.get("style") == 2,
                        required=bool(item.get("required", True)),
                        min_length=item.get("min_length"),
                        max_length=item.get("max_length"),
                        placeholder=str(item.get("placeholder") or ""),
                        value=str(item.get("value") or ""),
                    )
                )
            elif item.get("type") == LABEL and isinstance(item.get("component"), dict):
                walk(
                    [item["component"]],
                    str(item.get("label", "")),
                    str(item.get("description") or ""),
                )
            else:
                walk(list(item.get("components") or []), label, description)

    walk(list(modal.get("components") or []), "", "")
    return found


def shown_messages(
    state: DiscordState, interaction: Interaction, viewer: int
) -> list[ShownMessage]:
    """The reply and follow-ups of one interaction that `viewer` may see."""
    out = []
    bot_name = display_name(state.bot)
    used = invocation(state.world, interaction)
    original = interaction.original
    if original is not None and original.flags & LOADING and interaction.followups:
        # The client shows the first follow-up in place of the "thinking" message.
        original = None
    for message in [original, *interaction.followups]:
        if message is None:
            continue
        ephemeral = bool(message.flags & EPHEMERAL)
        if ephemeral and viewer != interaction.user_id:
            continue
        out.append(
            ShownMessage(
                message=message,
                author=bot_name,
                ephemeral=ephemeral,
                loading=bool(message.flags & LOADING),
                invocation=used,
            )
        )
    return out


def channel_messages(state: DiscordState, channel_id: int, viewer: int) -> list[ShownMessage]:
    """The bot's messages in a channel, oldest first (the emulator keeps interaction replies)."""
    shown: dict[int, ShownMessage] = {}
    for interaction in state.world.interactions.values():
        if interaction.channel_id == channel_id:
            for item in shown_messages(state, interaction, viewer):
                shown[item.message.id] = item
    return sorted(shown.values(), key=lambda s: (s.message.created_at, s.message.id))


def first_text_channel(guild: Guild, user_id: int) -> Channel | None:
    texts = sorted(
        (c for c in guild.channels.values() if c.type == 0 and can_view(guild, c, user_id)),
        key=lambda c: (c.position, c.id),
    )
    return texts[0] if texts else None


@dataclass(frozen=True)
class InviteCard:
    """What Discord's invite page shows before a person accepts: the server, who invited, and
    here also the roles joining gives (the invite's `role_ids`, which this bot relies on)."""

    code: str
    guild: Guild
    inviter: str
    channel: str
    channel_id: int
    members: int
    roles: list[str]


def invite_card(state: DiscordState, code: str) -> InviteCard | None:
    """The invite's card; None when it is unknown, expired or used up (Discord: Invite Invalid)."""
    invite = state.world.invites.get(code)
    if invite is None or not invite_usable(invite, state.now()):
        return None
    guild = state.world.guilds.get(invite.guild_id)
    if guild is None:
        return None
    inviter = state.world.users.get(invite.inviter_id)
    channel = guild.channels.get(invite.channel_id)
    return InviteCard(
        code=invite.code,
        guild=guild,
        inviter="someone" if inviter is None else display_name(inviter),
        channel="" if channel is None else channel.name,
        channel_id=invite.channel_id,
        members=len(guild.members),
        roles=[guild.roles[r].name for r in invite.role_ids if r in guild.roles],
    )
