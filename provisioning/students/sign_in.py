"""What the join page needs to know who a person is on GitHub and on Discord: OAuth2 sign-ins.

A Protocol, as for the platforms; `clients/oauth/` implements it. Tokens live only in memory,
for the one request that uses them (the Discord one adds the person to the server); they are
never stored, logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

GITHUB_SCOPE = "read:user"
DISCORD_SCOPE = "identify guilds.join"


@dataclass(frozen=True)
class GitHubIdentity:
    """Who signed in with GitHub: the login and the numeric id (logins can be renamed)."""

    login: str
    id: str


@dataclass(frozen=True)
class DiscordIdentity:
    """Who signed in with Discord, and the token that lets the bot add them to a server."""

    id: str
    username: str
    access_token: str = field(repr=False)


class SignInError(Exception):
    """The platform refused the sign-in (a used or expired code, a denied consent)."""


class SignIn(Protocol):
    """The two OAuth2 authorization-code flows of the join page."""

    def github_authorize_url(self, state: str, redirect_uri: str) -> str: ...

    async def github_identity(self, code: str, redirect_uri: str) -> GitHubIdentity: ...

    async def discord_authorize_url(self, state: str, redirect_uri: str) -> str: ...

    async def discord_identity(self, code: str, redirect_uri: str) -> DiscordIdentity: ...
