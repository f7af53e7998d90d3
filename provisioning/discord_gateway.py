"""The Discord gateway: what the Discord steps need from Discord, as a Protocol.

The implementation wraps discord.py's HTTP client and lives outside `provisioning/`, which never
imports discord.
"""

from __future__ import annotations

from typing import Protocol


class DiscordGateway(Protocol):
    """Async operations on Discord; implementations raise `PlatformError` on errors."""
