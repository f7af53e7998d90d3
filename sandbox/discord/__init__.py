"""Discord emulator: REST v10, gateway, interactions and a control API for people's actions."""

from .config import BucketRate, DiscordConfig, Limits, RateConfig
from .sandbox import DISCORD_SANDBOX, DiscordSandbox

__all__ = [
    "DISCORD_SANDBOX",
    "BucketRate",
    "DiscordConfig",
    "DiscordSandbox",
    "Limits",
    "RateConfig",
]
