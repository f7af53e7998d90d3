"""A retry re-runs the finished Discord steps: they verify, write nothing when all is well, and
recreate what a person deleted; a create discord.py sent twice leaves one role."""

from __future__ import annotations

from collections import Counter

import pytest

from clients.discord.gateway import DiscordRestGateway
from provisioning.errors import StepFailedError
from sandbox.discord import DiscordSandbox
from sandbox.server import SandboxServer

from .conftest import Control, ListSink, World
from .steps import course, run_all, run_step

RETRY_HINT = "retry the course: it re-checks every finished step and recreates what was deleted"


def role_names(server: SandboxServer, guild_id: str) -> Counter[str]:
    emulator = server.emulator("discord")
    assert isinstance(emulator, DiscordSandbox)
    guild = emulator.state.world.guilds[int(guild_id)]
    return Counter(r.name for r in guild.roles.values())


async def test_deleted_student_role_is_recreated_by_a_retry(
    server: SandboxServer,
    control: Control,
    world: World,
    gateway: DiscordRestGateway,
    sink: ListSink,
) -> None:
    """The Student role deleted by hand: ordering fails and says retry; the retry's re-run of
    the finished steps recreates it once and the course completes."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    spec = course(world.users)
    done = await run_all(spec, gateway, world.guild_id)
    old = done["discord.role:student"].external_id

    before = len(sink.rows)
    await run_all(spec, gateway, world.guild_id, done=done)
    assert {x.method for x, _ in sink.rows[before:]} == {"GET"}  # verified, not redone

    await gateway.delete_role(world.guild_id, old, reason="a person tidying up")
    with pytest.raises(StepFailedError) as caught:
        await run_step(spec, "discord.role-order", gateway, done)
    assert "discord.role:student" in caught.value.detail
    assert RETRY_HINT in caught.value.detail

    again = await run_all(spec, gateway, world.guild_id, done=done)
    new = again["discord.role:student"].external_id
    assert new != old
    assert role_names(server, world.guild_id)["Student"] == 1
    assert again["discord.role-order"].facts["order"][-1] == new


@pytest.mark.parametrize("status", [502, 0], ids=["resent-by-discord.py", "dropped"])
async def test_role_create_applied_then_failed_leaves_exactly_one_role(
    server: SandboxServer,
    control: Control,
    world: World,
    gateway: DiscordRestGateway,
    sink: ListSink,
    status: int,
) -> None:
    """A role create applied then answered 502 (sent again) or dropped: one role of each name,
    the duplicate deleted without consulting the (eventually consistent) audit log."""
    rule = {
        "kind": "apply_then_fail",
        "platform": "discord",
        "method": "POST",
        "path": "/guilds/*/roles",
        "count": 1,
        "status": status,
    }
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    await control.faults(rule)
    results = await run_all(course(world.users), gateway, world.guild_id)

    names = role_names(server, world.guild_id)
    for name in ("Instructor", "TA", "Student"):
        assert names[name] == 1, name
    assert not [x for x, _ in sink.rows if "audit-logs" in x.path]
    deletes = [x for x, _ in sink.rows if x.method == "DELETE"]
    if status == 502:
        assert len(deletes) == 1
        kept = results["discord.role:instructor"].external_id
        assert not deletes[0].path.endswith(kept)
    else:
        assert deletes == []
