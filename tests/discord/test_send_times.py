"""The Discord audit hook times each request when it left, not when its answer came back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clients.discord.gateway import DiscordRestGateway
from provisioning.audit_context import sent_at
from sandbox.server import SandboxServer

from .conftest import Control, ListSink, World

HELD_S = 0.3


async def test_a_discord_exchange_is_timed_at_the_send(
    server: SandboxServer,
    control: Control,
    world: World,
    gateway: DiscordRestGateway,
    sink: ListSink,
) -> None:
    """A request the sandbox holds 0.3 s: the time its row gets (`sent_at`, read as the
    audit log reads it, right after the answer) is no later than the sandbox's arrival stamp
    and far from the answer's time; the duration is still the round trip."""
    path = f"/guilds/{world.guild_id}/roles"
    await control.faults(
        {"kind": "latency", "platform": "discord", "method": "GET", "path": path, "delay": HELD_S}
    )
    sink.rows.clear()
    await gateway.list_roles(world.guild_id)
    (exchange,) = [x for x, _ in sink.rows if x.path == path]
    # The row's time as `AuditLog.record_http` takes it (a clock read after the answer).
    at = sent_at(exchange, datetime.now(UTC))
    (entry,) = [e for e in server.journal.query(platform="discord") if e.path.endswith(path)]
    arrived = datetime.fromtimestamp(entry.time, UTC)
    assert at <= arrived, (at, arrived)
    assert arrived - at < timedelta(seconds=HELD_S / 2), (at, arrived)
    assert exchange.duration_ms >= HELD_S * 1000
