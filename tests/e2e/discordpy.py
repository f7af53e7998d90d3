"""discord.py, imported with its one import-time warning silenced (warnings are errors here).

discord.py 2.7.1 imports the stdlib `audioop` for voice, deprecated in Python 3.11; that is not
ours to fix, and nothing else is silenced. Import discord.py (and `clients.discord.gateway`, which
imports it) from here first.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    from bot.build import Product as Built
    from bot.build import build
    from clients.discord.audit import make_audit_trace, redact_path
    from clients.discord.gateway import DiscordRestGateway

__all__ = [
    "Built",
    "DiscordRestGateway",
    "DiscordWebSocket",
    "Route",
    "build",
    "discord",
    "make_audit_trace",
    "redact_path",
]
