"""Discord emulator: REST v10, gateway, interactions and a control API for people's actions."""

from sandbox.discord.config import BucketRate, DiscordConfig, Limits, RateConfig
from sandbox.discord.emulator import DISCORD_SANDBOX, DiscordSandbox

__all__ = [
    "DISCORD_SANDBOX",
    "BucketRate",
    "DiscordConfig",
    "DiscordSandbox",
    "Limits",
    "RateConfig",
]
