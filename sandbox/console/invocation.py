"""What the Discord client shows above a bot's reply: who ran which command, in full
("Ada used /course status course:CS101"), the options as they were sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.discord.interactions import find_message
from sandbox.discord.models import Interaction, World

SUBCOMMAND, SUBCOMMAND_GROUP, ATTACHMENT = 1, 2, 11
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
# A button's reply may open a modal whose reply has buttons...: a chain this long is not real.
_MAX_HOPS = 8


@dataclass(frozen=True)
class Invocation:
    person: str
    command: str


def invocation(world: World, interaction: Interaction) -> Invocation:
    """The command a reply answers: for a button's or a modal's reply, the slash command that
    sent the message with the button or opened the modal."""
    command = _command(world, interaction, _MAX_HOPS)
    return Invocation(_person(world, interaction), command)


def _command(world: World, interaction: Interaction, hops: int) -> str:
    if interaction.type in (APPLICATION_COMMAND, AUTOCOMPLETE) or hops == 0:
        return command_line(interaction)
    before: Interaction | None = None
    if interaction.type == MODAL_SUBMIT and interaction.triggered_by is not None:
        before = world.interactions.get(interaction.triggered_by)
    elif interaction.source_message_id is not None:
        found = find_message(world, interaction.source_message_id)
        before = None if found is None else found[0]
    if before is None:
        return interaction.name
    return _command(world, before, hops - 1)


def command_line(interaction: Interaction) -> str:
    """`course status course:CS101`: the name, the subcommand path, then each option."""
    data: dict[str, Any] = interaction.payload.get("data") or {}
    attachments: dict[str, Any] = (data.get("resolved") or {}).get("attachments") or {}
    words = [interaction.name]
    options: list[dict[str, Any]] = list(data.get("options") or [])
    while options and options[0].get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP):
        words.append(str(options[0].get("name", "")))
        options = list(options[0].get("options") or [])
    for option in options:
        value = option.get("value")
        if option.get("type") == ATTACHMENT:
            value = (attachments.get(str(value)) or {}).get("filename", value)
        words.append(f"{option.get('name', '')}:{value}")
    return " ".join(words)


def _person(world: World, interaction: Interaction) -> str:
    """The name the server shows: the member's nickname, else their display name."""
    user = world.users.get(interaction.user_id)
    guild = world.guilds.get(interaction.guild_id or 0)
    member = None if guild is None else guild.members.get(interaction.user_id)
    if member is not None and member.nick:
        return member.nick
    if user is None:
        return "Someone"
    return user.global_name or user.username
