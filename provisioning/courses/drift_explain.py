"""Each repair write of a reconcile in words: who changed what, when it can be known
(`discord_attribution` for Discord; GitHub names nobody, `drift_findings.describe_github`)."""

from __future__ import annotations

from provisioning.courses.discord_attribution import DiscordAttribution, is_discord
from provisioning.courses.drift_findings import Finding, Write, describe_github
from provisioning.discord.gateway import DiscordGateway


async def explain(
    writes: list[Write], discord: DiscordGateway | None, guild_id: str | None
) -> dict[int, Finding]:
    """Each write's finding, by audit row id; Discord's audit log read once per action type
    and target."""
    attribution = DiscordAttribution(discord, guild_id)
    out: dict[int, Finding] = {}
    for write in writes:
        if is_discord(write.path):
            out[write.audit_id] = await attribution.finding(write)
        else:
            out[write.audit_id] = describe_github(write.method, write.path)
    return out
