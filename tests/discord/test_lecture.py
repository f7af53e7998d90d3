"""The lecture course's Discord steps against the sandbox, through discord.py, end to end."""

from __future__ import annotations

from typing import Any

import pytest

from clients.discord.audit import redact_path
from clients.discord.gateway import DiscordRestGateway
from provisioning.claims.codes import claim_code, normalize_code
from provisioning.discord.gateway import invite_code_hash
from provisioning.errors import ActionRequiredError
from provisioning.permissions import SEND_MESSAGES
from sandbox.discord import DiscordSandbox
from sandbox.server import SandboxServer

from .conftest import Control, ListSink, World
from .steps import COURSE_ID, SECRET, course, run_all, run_step

MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def sandbox_state(server: SandboxServer) -> Any:
    emulator = server.emulator("discord")
    assert isinstance(emulator, DiscordSandbox)
    return emulator.state.world


async def test_lecture_course_builds_the_server(
    server: SandboxServer, control: Control, world: World, gateway: DiscordRestGateway
) -> None:
    """Renamed server, ordered roles under the bot's, the course channels, a Student invite."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    spec = course(world.users)
    results = await run_all(spec, gateway, world.guild_id)

    guild = sandbox_state(server).guilds[int(world.guild_id)]
    assert guild.name == "CS101 · Introduction to Programming · 2027-spring"
    ranked = sorted(guild.roles.values(), key=lambda r: (r.position, r.id), reverse=True)
    names = [r.name for r in ranked]
    assert names[:4] == ["Course Bot", "Instructor", "TA", "Student"]
    category = guild.channels[int(results["discord.category:course"].external_id)]
    assert (category.name, category.type) == ("CS101", 4)
    children = sorted(
        (c for c in guild.channels.values() if c.parent_id == category.id), key=lambda c: c.position
    )
    assert [c.name for c in children] == ["announcements", "general", "lectures", "qa-help"]

    announcements = children[0]
    rules = {(o.id, o.type): (o.allow, o.deny) for o in announcements.overwrites}
    assert rules[(guild.id, 0)] == (0, SEND_MESSAGES)
    for key in ("discord.role:instructor", "discord.role:ta"):
        assert rules[(int(results[key].external_id), 0)] == (SEND_MESSAGES, 0)

    ada, grace = int(world.users["ada"]), int(world.users["grace"])
    assert int(results["discord.role:instructor"].external_id) in guild.members[ada].roles
    assert int(results["discord.role:ta"].external_id) in guild.members[grace].roles


async def test_student_invite_grants_the_student_role(
    server: SandboxServer, control: Control, world: World, gateway: DiscordRestGateway
) -> None:
    """Only the code's hash is kept; a person joining through the invite gets Student."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    results = await run_all(course(world.users), gateway, world.guild_id)
    invite = results["discord.invite:students"]
    codes = [c for c in sandbox_state(server).invites if invite_code_hash(c) == invite.external_id]
    assert len(codes) == 1
    assert codes[0] not in repr(results)
    joined = await control("POST", f"/invites/{codes[0]}/accept", json={"user": "bob"})
    assert results["discord.role:student"].external_id in joined["roles"]


async def test_rerun_of_a_finished_course_writes_nothing(
    server: SandboxServer, control: Control, world: World, gateway: DiscordRestGateway
) -> None:
    """A second run verifies every resource with reads only, and keeps every id."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    spec = course(world.users)
    first = await run_all(spec, gateway, world.guild_id)
    cursor = server.journal.next_seq()
    second = await run_all(spec, gateway, world.guild_id, done=first)
    later = server.journal.query(since=cursor, platform="discord")
    assert later
    assert [e for e in later if e.method in MUTATING] == []
    assert {k: r.external_id for k, r in second.items()} == {
        k: r.external_id for k, r in first.items()
    }


async def test_audit_rows_match_the_sandbox_log_one_to_one(
    server: SandboxServer,
    control: Control,
    world: World,
    gateway: DiscordRestGateway,
    sink: ListSink,
) -> None:
    """Every request the sandbox saw is one audit row, same method, path and status, in order."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    await run_all(course(world.users), gateway, world.guild_id)
    seen = [
        (e.method, redact_path(e.path) + (f"?{e.query}" if e.query else ""), e.status)
        for e in server.journal.query(platform="discord", limit=10_000)
    ]
    rows = [(x.method, x.path, x.status) for x, _ in sink.rows]
    assert rows == seen
    assert all("Authorization" not in str(x.request_summary) for x, _ in sink.rows)
    assert any(x.rate_limit for x, _ in sink.rows)
    bodies = [x.request_summary["body"] for x, _ in sink.rows if x.path.endswith("/roles")]
    assert {"hoist": True, "mentionable": True, "name": "Instructor", "permissions": "0"} in bodies
    assert all(x.status and 200 <= x.status < 300 for x, _ in sink.rows)


async def test_unclaimed_server_waits_with_the_link_and_where_to_get_the_code(
    world: World, gateway: DiscordRestGateway
) -> None:
    """Without a claimed guild the server step asks for a server and gives the install link
    and where the claim code is shown, never the code itself (the message is logged)."""
    spec = course(world.users)
    with pytest.raises(ActionRequiredError) as caught:
        await run_step(spec, "discord.server", gateway, {})
    message = caught.value.message
    assert caught.value.reason == "discord.claim"
    assert "https://discord.com/oauth2/authorize?client_id=" in message
    assert "/course claim <code>" in message
    assert f"`/course status {COURSE_ID}`" in message
    assert f"`GET /courses/{COURSE_ID}/claim`" in message
    code = claim_code(SECRET, COURSE_ID)
    assert code not in message
    assert normalize_code(code) not in normalize_code(message)


async def test_staff_not_in_the_server_is_asked_to_join(
    world: World, gateway: DiscordRestGateway
) -> None:
    """Grace is no member yet: her role step waits with a message naming her."""
    spec = course(world.users)
    with pytest.raises(ActionRequiredError) as caught:
        await run_all(spec, gateway, world.guild_id)
    assert caught.value.reason == "discord.not_member"
    assert "ask Grace to join the server" in caught.value.message
