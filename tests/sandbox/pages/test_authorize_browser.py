"""The Discord and GitHub authorize pages as a person uses them, in Chromium: pick who you are,
read what is asked, Authorize; the product's callback gets the code and the state, and the code
buys a token that says who the person is. Screenshots go to tests/test-artifacts/."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from playwright.async_api import Browser, Page, expect

from sandbox.discord import DiscordConfig
from sandbox.github.config import OAuthAppSpec
from sandbox.server import SandboxServer

from .conftest import Callback

DISCORD = DiscordConfig()
GITHUB = OAuthAppSpec()


async def shoot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"sandbox-{name}.png"), full_page=True)


async def pick(page: Page, label: str) -> None:
    await page.get_by_label("Signed in as").select_option(label=label)
    await page.locator("form.who button").click()
    await page.wait_for_load_state()


async def test_discord_sign_in_in_a_browser(
    browser: Browser, artifacts: Path, sandbox: SandboxServer, callback: Callback
) -> None:
    query = {
        "client_id": str(DISCORD.application_id),
        "response_type": "code",
        "scope": "identify guilds.join",
        "redirect_uri": callback.url,
        "state": "s-123",
    }
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(f"{sandbox.base_url}/oauth2/authorize?{urlencode(query)}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Course Bot wants to access your account"
    )
    # Nobody picked yet: only the picker, no Authorize button.
    await expect(page.get_by_role("button", name="Authorize")).to_have_count(0)
    await shoot(page, artifacts, "discord-authorize-pick")
    await pick(page, "Bob (@bob)")
    await expect(page.get_by_text("Access your username, avatar, and banner")).to_be_visible()
    await expect(page.get_by_text("Join servers for you")).to_be_visible()
    await expect(page.get_by_text("redirected to 127.0.0.1")).to_be_visible()
    await shoot(page, artifacts, "discord-authorize-consent")
    await page.set_viewport_size({"width": 390, "height": 844})
    await shoot(page, artifacts, "discord-authorize-consent-phone")

    await page.get_by_role("button", name="Authorize").click()
    await expect(page.get_by_role("heading", name="Back at the product")).to_be_visible()
    assert len(callback.received) == 1
    landed = callback.received[0]
    assert landed["state"] == "s-123"
    assert set(landed) == {"code", "state"}

    basic = base64.b64encode(f"{DISCORD.application_id}:{DISCORD.client_secret}".encode())
    form = {
        "grant_type": "authorization_code",
        "code": landed["code"],
        "redirect_uri": callback.url,
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{sandbox.discord_api_url}/oauth2/token",
            data=form,
            headers={"Authorization": f"Basic {basic.decode()}"},
        ) as r:
            assert r.status == 200
            token = (await r.json())["access_token"]
        async with http.get(
            f"{sandbox.discord_api_url}/users/@me", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert (await r.json())["username"] == "bob"

    # The choice is remembered: the next visit starts as Bob, and Cancel goes back denied.
    await page.goto(f"{sandbox.base_url}/oauth2/authorize?{urlencode(query)}")
    await expect(page.get_by_label("Signed in as")).to_have_value(
        str(sandbox.emulator("discord").state.user_by_name("bob").id)  # type: ignore[attr-defined]
    )
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("heading", name="Back at the product")).to_be_visible()
    assert callback.received[1] == {
        "error": "access_denied",
        "error_description": "The resource owner or authorization server denied the request",
        "state": "s-123",
    }


async def test_discord_install_link_in_a_browser(
    browser: Browser, artifacts: Path, sandbox: SandboxServer
) -> None:
    headers = {**sandbox.control_headers, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession(sandbox.base_url, headers=headers) as http,
        http.post("/_sandbox/discord/guilds", json={"name": "CS 101 Fall", "owner": "ada"}) as r,
    ):
        guild = await r.json()
    query = {
        "client_id": str(DISCORD.application_id),
        "scope": "bot applications.commands",
        "permissions": "268520625",
    }
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{sandbox.base_url}/oauth2/authorize?{urlencode(query)}")
    await pick(page, "Ada (@ada)")
    await expect(page.get_by_label("Add to server")).to_have_value(guild["id"])
    await expect(page.get_by_text("Manage Roles")).to_be_visible()
    await shoot(page, artifacts, "discord-install-consent")
    await page.get_by_role("button", name="Authorize").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Authorized")
    await expect(page.get_by_text("Course Bot has been added to CS 101 Fall.")).to_be_visible()
    await shoot(page, artifacts, "discord-install-added")

    state = sandbox.emulator("discord").state  # type: ignore[attr-defined]
    added = state.world.guilds[int(guild["id"])]
    assert state.bot_id in added.members
    bot_role = next(r for r in added.roles.values() if r.bot_id == state.bot_id)
    assert bot_role.permissions == 268520625
    assert bot_role.managed


async def test_github_sign_in_in_a_browser(
    browser: Browser, artifacts: Path, sandbox: SandboxServer, callback: Callback
) -> None:
    query = {
        "client_id": GITHUB.client_id,
        "redirect_uri": callback.url,
        "scope": "read:user",
        "state": "gh-state",
    }
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(f"{sandbox.base_url}/login/oauth/authorize?{urlencode(query)}")
    await pick(page, "grace")
    await expect(page.get_by_text("Read all user profile data")).to_be_visible()
    await shoot(page, artifacts, "github-authorize-consent")
    await page.get_by_role("button", name="Authorize").click()
    await expect(page.get_by_role("heading", name="Back at the product")).to_be_visible()
    landed = callback.received[0]
    assert landed["state"] == "gh-state"

    form = {
        "client_id": GITHUB.client_id,
        "client_secret": GITHUB.client_secret,
        "code": landed["code"],
        "redirect_uri": callback.url,
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{sandbox.base_url}/login/oauth/access_token",
            data=form,
            headers={"Accept": "application/json"},
        ) as r:
            token = (await r.json())["access_token"]
        async with http.get(
            f"{sandbox.github_api_url}/user", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert (await r.json())["login"] == "grace"


async def test_error_page_in_a_browser(
    browser: Browser, artifacts: Path, sandbox: SandboxServer
) -> None:
    query = {
        "client_id": str(DISCORD.application_id),
        "response_type": "code",
        "scope": "identify",
        "redirect_uri": "https://attacker.example/steal",
    }
    page = await browser.new_page(viewport={"width": 1280, "height": 600})
    response = await page.goto(f"{sandbox.base_url}/oauth2/authorize?{urlencode(query)}")
    assert response is not None
    assert response.status == 400
    await expect(page.get_by_role("heading", level=1)).to_have_text("Invalid OAuth2 redirect_uri")
    await expect(page.get_by_role("button")).to_have_count(0)
    await shoot(page, artifacts, "discord-authorize-error")
