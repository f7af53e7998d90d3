"""discord.py pointed at a local sandbox, and put back.

discord.py reads its REST and gateway URLs from class attributes, so pointing a client
somewhere is process-wide: do it only here, always restore. The fixture `discord_at_sandbox`
(tests/conftest.py) does it for one test.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import yarl

# discord.py 2.7.1 imports the stdlib `audioop` (voice), deprecated in 3.11; warnings are
# errors here, and that one is not ours to fix.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    from discord.gateway import DiscordWebSocket
    from discord.http import Route


@contextlib.contextmanager
def discord_pointed_at(base_url: str) -> Iterator[None]:
    """discord.py's API and gateway at the sandbox served on `base_url` (http://host:port)."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = f"{base_url}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base_url.replace("http", "ws", 1) + "/gateway")
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway
