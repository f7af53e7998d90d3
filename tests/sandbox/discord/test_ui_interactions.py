"""Autocomplete, modals, buttons and message edits: a person through the control API, the bot
through discord.py 2.7.1, unmodified."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Bot, Running, World
from .discordpy import app_commands, discord


async def _run(running: Running, world: World, name: str, *options: Any) -> dict[str, Any]:
    body = {"guild_id": world.guild_id, "user": "ada", "name": name, "options": list(options)}
    status, seen = await running.control("POST", "/interactions?wait=1", json=body)
    assert status == 201, seen
    return dict(seen)


async def _until(running: Running, iid: str, check: Any) -> dict[str, Any]:
    """The interaction as the person sees it, once `check(view)` holds (at most 5 s)."""
    async with asyncio.timeout(5):
        while True:
            status, seen = await running.control("GET", f"/interactions/{iid}")
            assert status == 200
            if check(seen):
                return dict(seen)
            await asyncio.sleep(0.02)


async def test_autocomplete_returns_the_bots_choices(
    running: Running, world: World, bot: Bot
) -> None:
    """Typing into an autocompleted option sends type 4; the bot's type 8 choices come back."""

    async def courses(interaction: discord.Interaction, current: str) -> list[Any]:
        names = ["CS101 2027-spring", "CS201 2027-fall", "MA101 2027-spring"]
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()]

    @app_commands.command(name="pick", description="Pick a course")
    @app_commands.autocomplete(course=courses)
    async def pick(interaction: discord.Interaction, course: str) -> None:
        await interaction.response.send_message(f"picked {course}", ephemeral=True)

    bot.tree.add_command(pick)
    await bot.tree.sync()
    status, commands = await running.control("GET", "/commands")
    assert status == 200
    assert commands[0]["options"][0]["autocomplete"] is True

    body = {
        "guild_id": world.guild_id,
        "user": "ada",
        "name": "pick",
        "options": [{"name": "course", "type": 3, "value": "spring", "focused": True}],
    }
    status, answer = await running.control("POST", "/interactions/autocomplete", json=body)
    assert status == 200, answer
    assert answer["choices"] == [
        {"name": "CS101 2027-spring", "value": "CS101 2027-spring"},
        {"name": "MA101 2027-spring", "value": "MA101 2027-spring"},
    ]
    del body["options"][0]["focused"]
    status, _ = await running.control("POST", "/interactions/autocomplete", json=body)
    assert status == 400


class Details(discord.ui.Modal, title="Course details"):
    code: discord.ui.TextInput[Details] = discord.ui.TextInput(label="Code", max_length=10)
    title_: discord.ui.TextInput[Details] = discord.ui.TextInput(
        label="Title", custom_id="title", required=False
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"got {self.code.value} / {self.title_.value or '-'}", ephemeral=True
        )


async def test_a_modal_is_shown_then_submitted_with_its_fields(
    running: Running, world: World, bot: Bot
) -> None:
    """Callback type 9 opens a modal the person sees; submitting it sends type 5 with the
    values, and the client's own checks (required, max length) refuse bad input first."""

    @app_commands.command(name="details", description="Ask for details")
    async def details(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Details(custom_id="details-modal"))

    bot.tree.add_command(details)
    seen = await _run(running, world, "details")
    assert seen["callback"]["type"] == 9
    modal = seen["modal"]
    assert modal["title"] == "Course details"
    code_id = modal["components"][0]["components"][0]["custom_id"]

    path = f"/interactions/{seen['id']}/modal"
    status, err = await running.control("POST", path, json={"values": {"title": "x"}})
    assert (status, err["error"]) == (400, "Code is required")
    status, err = await running.control("POST", path, json={"values": {code_id: "X" * 11}})
    assert status == 400
    assert "1 to 10 characters" in err["error"] or "0 to 10 characters" in err["error"]
    status, err = await running.control(
        "POST", path, json={"values": {code_id: "CS1"}, "user": "bob"}
    )
    assert status == 403

    status, submitted = await running.control(
        "POST", path + "?wait=1", json={"values": {code_id: "CS101"}}
    )
    assert status == 201, submitted
    assert submitted["type"] == 5
    assert submitted["original"]["content"] == "got CS101 / -"
    assert submitted["original"]["flags"] & 64
    status, seen = await running.control("GET", f"/interactions/{seen['id']}")
    assert seen["modal"] is None
    status, _ = await running.control("POST", path, json={"values": {code_id: "CS101"}})
    assert status == 409


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.clicks = 0

    @discord.ui.button(label="Confirm", custom_id="confirm", style=discord.ButtonStyle.success)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        self.clicks += 1
        await interaction.response.edit_message(content=f"confirmed {self.clicks}x", view=self)

    @discord.ui.button(label="Later", custom_id="later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        await asyncio.sleep(0)
        await interaction.edit_original_response(content="later", view=None)


async def test_buttons_update_the_message_they_are_on(
    running: Running, world: World, bot: Bot
) -> None:
    """A click sends type 3 with the custom_id and the message; type 7 updates that message
    at once, type 6 then an edit of @original updates it later; both show as edited."""

    @app_commands.command(name="ask", description="Ask to confirm")
    async def ask(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("Sure?", view=Confirm(), ephemeral=True)

    bot.tree.add_command(ask)
    seen = await _run(running, world, "ask")
    seen = await _until(running, seen["id"], lambda s: s["followups"])
    message = seen["followups"][0]
    assert message["flags"] & 64
    buttons = message["components"][0]["components"]
    assert [(b["label"], b["custom_id"]) for b in buttons] == [
        ("Confirm", "confirm"),
        ("Later", "later"),
    ]
    assert message["edited_timestamp"] is None

    click = f"/messages/{message['id']}/click?wait=1"
    status, _ = await running.control("POST", click, json={"custom_id": "nope", "user": "ada"})
    assert status == 404
    status, _ = await running.control("POST", click, json={"custom_id": "confirm", "user": "bob"})
    assert status == 404  # ephemeral: only Ada sees it
    status, clicked = await running.control(
        "POST", click, json={"custom_id": "confirm", "user": "ada"}
    )
    assert status == 201, clicked
    assert clicked["type"] == 3
    assert clicked["callback"]["type"] == 7
    assert clicked["original"]["id"] == message["id"]
    assert clicked["original"]["content"] == "confirmed 1x"
    assert clicked["original"]["edited_timestamp"] is not None

    status, clicked = await running.control(
        "POST", click, json={"custom_id": "later", "user": "ada"}
    )
    assert clicked["callback"]["type"] == 6
    later = await _until(running, clicked["id"], lambda s: s["original"]["content"] == "later")
    assert later["original"]["components"] == []
    status, shown = await running.control("GET", f"/messages/{message['id']}")
    assert (status, shown["content"], shown["interaction_id"]) == (200, "later", seen["id"])


async def test_callback_types_are_checked_against_the_interaction(
    running: Running, world: World
) -> None:
    """Choices answer only autocomplete, a message update only a component: 400/40043."""
    status, created = await running.control(
        "POST", "/interactions", json={"guild_id": world.guild_id, "user": "ada", "name": "x"}
    )
    path = f"/interactions/{created['id']}/{created['token']}/callback"
    for body in ({"type": 8, "data": {"choices": []}}, {"type": 7, "data": {"content": "x"}}):
        status, err, _ = await running.api("POST", path, json=body)
        assert (status, err["code"]) == (400, 40043)
    status, err, _ = await running.api(
        "POST", path, json={"type": 9, "data": {"custom_id": "m", "title": "T" * 46}}
    )
    assert status == 400
    status, _, _ = await running.api("POST", path, json={"type": 4, "data": {"content": "ok"}})
    assert status == 204
