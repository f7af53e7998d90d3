"""discord.py, imported with its one import-time warning silenced (warnings are errors here).

discord.py 2.7.1 imports the stdlib `audioop` for voice, which Python 3.11 flags as deprecated; that
is not ours to fix, and nothing else is silenced.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    from discord import app_commands
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

__all__ = ["DiscordWebSocket", "Route", "app_commands", "discord"]
