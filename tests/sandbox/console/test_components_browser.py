"""Autocomplete, embeds (timestamps too), buttons and modals in the sandbox app, in Debian's
Chromium.

The test plays the bot over the platform's public interaction API (the callback endpoint a
bot answers on), so every shape a bot may answer with is shown: choices while typing, an embed
with fields and colour, buttons, a modal, a reply to the modal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, expect

from sandbox.discord.emulator import DiscordSandbox
from sandbox.server import SandboxServer
from tests.sandbox.console.test_person_browser import act_as

APP = 1310000000000000001
BOT = {"Authorization": "Bot sandbox-discord-token"}
PICK = {
    "name": "pick",
    "description": "Pick a course",
    "options": [
        {
            "type": 3,
            "name": "course",
            "description": "Code and term",
            "required": True,
            "autocomplete": True,
        }
    ],
}
COURSES = {"cs101": "CS101 2027-spring", "cs102": "CS102 2027-spring", "ma201": "MA201 2027-fall"}
EMBED = {
    "title": "Preview",
    "description": "What **Confirm** creates:\n- 3 repositories\n- 4 channels",
    "color": 0x2ECC71,
    "fields": [
        {"name": "Repositories", "value": "3", "inline": True},
        {"name": "Channels", "value": "4", "inline": True},
        # 14:17 UTC on 6 December 2026: Discord shows it in the reader's zone.
        {"name": "Starts", "value": "<t:1796566620:f>", "inline": False},
    ],
}
BUTTONS = [
    {
        "type": 1,
        "components": [
            {"type": 2, "style": 3, "label": "Confirm", "custom_id": "confirm"},
            {"type": 2, "style": 4, "label": "Cancel", "custom_id": "cancel"},
        ],
    }
]
MODAL = {
    "custom_id": "details",
    "title": "Course details",
    "components": [
        {
            "type": 18,
            "label": "Title",
            "description": "As students will see it",
            "component": {"type": 4, "custom_id": "course.title", "style": 1, "max_length": 40},
        }
    ],
}


class PlayedBot:
    """Answers every interaction as a bot would, over HTTP, on the sandbox's callback route."""

    def __init__(self, server: SandboxServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.tasks: set[asyncio.Task[None]] = set()
        self.failures: list[str] = []

    def on_event(self, event: str, data: dict[str, Any], guild_id: int | None) -> None:
        if event == "INTERACTION_CREATE":
            task = asyncio.get_running_loop().create_task(self.answer(data))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def answer(self, interaction: dict[str, Any]) -> None:
        kind, data = interaction["type"], interaction["data"]
        if kind == 4:
            typed = str(data["options"][0]["value"]).lower()
            choices = [{"name": n, "value": v} for v, n in COURSES.items() if typed in n.lower()]
            body: dict[str, Any] = {"type": 8, "data": {"choices": choices}}
        elif kind == 2:
            body = {
                "type": 4,
                "data": {"content": "", "embeds": [EMBED], "components": BUTTONS, "flags": 64},
            }
        elif kind == 3 and data["custom_id"] == "confirm":
            body = {"type": 9, "data": MODAL}
        elif kind == 5:
            title = data["components"][0]["component"]["value"]
            body = {"type": 4, "data": {"content": f"Created **{title}**", "flags": 64}}
        else:
            body = {"type": 7, "data": {"content": "Cancelled.", "embeds": [], "components": []}}
        url = (
            f"{self.server.discord_api_url}/interactions/{interaction['id']}/"
            f"{interaction['token']}/callback"
        )
        async with self.http.post(url, json=body) as response:
            if response.status != 204:
                self.failures.append(await response.text())


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as srv:
        yield srv


async def test_autocomplete_embed_buttons_and_modal_as_a_person_sees_them(
    server: SandboxServer, browser: Browser, artifacts: Path
) -> None:
    discord = server.emulator("discord")
    assert isinstance(discord, DiscordSandbox)
    async with aiohttp.ClientSession(headers=server.control_headers) as http:
        url = f"{server.discord_api_url}/applications/{APP}/commands"
        async with http.put(url, json=[PICK], headers=BOT) as response:
            assert response.status == 200, await response.text()
        base = f"{server.base_url}/_sandbox/discord"
        async with http.post(f"{base}/guilds", json={"name": "Dept", "owner": "ada"}) as response:
            guild = (await response.json())["id"]
        async with http.post(f"{base}/guilds/{guild}/bot", json={"permissions": 8}):
            pass
        bot = PlayedBot(server, http)
        discord.state.subscribe(bot.on_event)

        page = await browser.new_page(
            viewport={"width": 1280, "height": 900}, timezone_id="America/New_York"
        )
        await act_as(page, server.base_url, "ada")
        await page.goto(f"{server.base_url}/_sandbox/servers/{guild}")
        await page.click("#cmd-pick summary")

        # Typing asks the bot: its choices become the input's suggestions.
        options = page.locator("#pick-course-list option")
        await page.type("#pick-course", "2027")
        await options.nth(2).wait_for(state="attached")
        await page.fill("#pick-course", "spring")
        await expect(options).to_have_count(2)
        offered = await options.evaluate_all("(os) => os.map((o) => [o.value, o.label])")
        assert offered == [["cs101", "CS101 2027-spring"], ["cs102", "CS102 2027-spring"]]
        await page.fill("#pick-course", "cs101")
        await page.click("#cmd-pick button[type=submit]")

        # The reply: an embed with its fields and colour, buttons, the ephemeral marker.
        embed = page.locator("#reply-pick .embed")
        await embed.wait_for()
        assert await embed.locator("h4").inner_text() == "Preview"
        assert await embed.locator("strong").inner_text() == "Confirm"
        # A Markdown list is a list, bullets and all.
        items = embed.get_by_role("listitem")
        assert await items.all_inner_texts() == ["3 repositories", "4 channels"]
        bullet = await items.first.evaluate("(li) => getComputedStyle(li).listStyleType")
        assert bullet == "disc"
        assert await embed.locator("dt").all_inner_texts() == ["Repositories", "Channels", "Starts"]
        # A timestamp in the reader's zone (New York: 09:17), as Discord's client shows it.
        starts = embed.locator("dd time")
        await expect(starts).to_contain_text("December 6, 2026")
        await expect(starts).to_contain_text("09:17 AM")
        await expect(starts).to_have_attribute("title", "06 December 2026 14:17 UTC")
        colour = await embed.evaluate("(e) => getComputedStyle(e).borderLeftColor")
        assert colour == "rgb(46, 204, 113)"
        assert "Only you can see this" in await page.inner_text("#reply-pick")
        # Above the answer, as Discord shows it: who ran the command, in full.
        used = page.locator("#reply-pick .message .invocation")
        await expect(used).to_have_text("Ada used /pick course:cs101")
        await page.screenshot(path=str(artifacts / "sandbox-components-reply-desktop.png"))

        # Confirm opens the bot's modal; its answer arrives below.
        await page.get_by_role("button", name="Confirm").click()
        title = page.get_by_label("Title")
        await title.wait_for()
        assert await page.locator(".modal h3").inner_text() == "Course details"
        await title.fill("Programming 1")
        await page.screenshot(path=str(artifacts / "sandbox-components-modal-desktop.png"))
        axe = await Axe().run(page)
        serious = [
            v["id"] for v in axe.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        await page.get_by_role("button", name="Submit").click()
        await page.locator("#reply-pick strong", has_text="Programming 1").wait_for()
        # The modal's answer names the command whose button opened the modal.
        answer = page.locator("#reply-pick .message", has_text="Programming 1")
        await expect(answer.locator(".invocation")).to_have_text("Ada used /pick course:cs101")
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.screenshot(
            path=str(artifacts / "sandbox-components-answered-phone.png"), full_page=True
        )
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        await page.close()
        await asyncio.gather(*bot.tasks)

    assert bot.failures == []
    assert serious == []
    assert overflow <= 0
    submitted = [i for i in discord.state.world.interactions.values() if i.type == 5]
    assert len(submitted) == 1
    assert submitted[0].payload["data"]["components"][0]["component"]["value"] == "Programming 1"
