"""The bot's server count without a gateway connection (a runner process): read from
`GET /users/@me/guilds` page by page, every page an audit row; and the server step of a runner
alone waits at the cap of unverified apps."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sandbox.core.emulator import SystemClock
from sandbox.discord import DiscordConfig, DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.mail import MailSandbox
from sandbox.server import SandboxServer
from tests.e2e.discordpy import build
from tests.e2e.harness import (
    SANDBOX_RATE_SCALE,
    all_steps,
    audit_rows,
    control_of,
    e2e_settings,
    lecture,
    open_product,
)


@contextlib.asynccontextmanager
async def verified_sandbox() -> AsyncIterator[SandboxServer]:
    """A sandbox whose Discord app is verified, so the bot may be in more than 100 servers."""
    clock = SystemClock()
    emulators = [
        GitHubSandbox(clock, rate_scale=SANDBOX_RATE_SCALE),
        DiscordSandbox(clock, SANDBOX_RATE_SCALE, DiscordConfig(app_verified=True)),
        MailSandbox(clock),
    ]
    async with SandboxServer(emulators, clock=clock, rate_scale=SANDBOX_RATE_SCALE) as server:
        yield server


async def test_without_the_gateway_the_count_pages_through_the_rest_list(
    database_url: str,
) -> None:
    """450 servers: three pages of at most 200, each one request the audit log records; the
    setting says the app is verified, so there is no cap and no warning."""
    async with verified_sandbox() as sandbox, control_of(sandbox) as control:
        await control.call("PUT", "/discord/bot-guilds", json={"others": 449})
        settings = e2e_settings(database_url, sandbox, discord_app_verified=True)
        async with contextlib.AsyncExitStack() as stack:
            built = await build(settings, stack)
            assert not built.discord_client.is_ready()
            servers = await built.servers.check()
            assert (servers.count, servers.limit, servers.near_cap) == (450, None, False)
            assert built.servers.notice() is None
            pages = [
                row
                for row in await audit_rows(built.sessions)
                if (row.path or "").startswith("/users/@me/guilds")
            ]
            assert [(row.method, row.status) for row in pages] == [("GET", 200)] * 3
            first = pages[0].path or ""
            assert "limit=200" in first
            assert "after=0" in first


async def test_a_runner_alone_waits_at_the_cap(database_url: str) -> None:
    """No gateway, 100 servers, unverified: the server step waits with the cap's reason; a
    check of the count at 99 sends it back, and it waits for a claim again."""
    async with (
        SandboxServer(rate_scale=SANDBOX_RATE_SCALE) as sandbox,
        control_of(sandbox) as control,
        open_product(database_url, sandbox) as product,
    ):
        people = await control.discord_users()
        course_id = await product.create(lecture(people["ada"], people["grace"]))
        await control.call("PUT", "/discord/bot-guilds", json={"others": 99})
        await product.run()
        server = next(
            s for s in await all_steps(product.sessions, course_id) if s.key == "discord.server"
        )
        assert (server.state, server.last_error_code) == ("awaiting_action", "discord.server_cap")
        await control.call("PUT", "/discord/bot-guilds", json={"others": 98})
        assert (await product.built.servers.check()).count == 99
        await product.run()
        server = next(
            s for s in await all_steps(product.sessions, course_id) if s.key == "discord.server"
        )
        assert (server.state, server.last_error_code) == ("awaiting_action", "discord.claim")
