"""The OAuth2 sign-ins of people (PLATFORM.md §1.13, §2.10), over aiohttp, audited per call.

Each request to GitHub or Discord is one audit row with its method, path and status; the
bodies (codes, client secrets, access tokens) never are.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yarl

from provisioning.audit_context import HttpAuditSink, HttpExchange, current_context
from provisioning.students.sign_in import (
    DISCORD_SCOPE,
    GITHUB_SCOPE,
    DiscordIdentity,
    GitHubIdentity,
    SignInError,
)


@dataclass(frozen=True)
class OAuthApps:
    """Where the two platforms' OAuth2 endpoints are and our apps' credentials there."""

    github_authorize_url: str
    github_token_url: str
    github_api_url: str
    github_client_id: str
    github_client_secret: str = field(repr=False)
    discord_authorize_url: str
    discord_token_url: str
    discord_api_url: str
    discord_client_secret: str = field(repr=False)


class OAuthSignIn:
    """Implements `provisioning.students.sign_in.SignIn`."""

    def __init__(
        self,
        apps: OAuthApps,
        sink: HttpAuditSink,
        discord_client_id: Callable[[], Awaitable[str]],
        timeout_s: float = 15.0,
    ) -> None:
        self._apps = apps
        self._sink = sink
        self._discord_client_id = discord_client_id
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def github_authorize_url(self, state: str, redirect_uri: str) -> str:
        query = {
            "client_id": self._apps.github_client_id,
            "redirect_uri": redirect_uri,
            "scope": GITHUB_SCOPE,
            "state": state,
            "allow_signup": "false",
        }
        return f"{self._apps.github_authorize_url}?{urlencode(query)}"

    async def discord_authorize_url(self, state: str, redirect_uri: str) -> str:
        query = {
            "response_type": "code",
            "client_id": await self._discord_client_id(),
            "scope": DISCORD_SCOPE,
            "state": state,
            "redirect_uri": redirect_uri,
            "prompt": "consent",
        }
        return f"{self._apps.discord_authorize_url}?{urlencode(query)}"

    async def github_identity(self, code: str, redirect_uri: str) -> GitHubIdentity:
        apps = self._apps
        async with aiohttp.ClientSession(timeout=self._timeout) as http:
            token = await self._call(
                http,
                "github",
                "POST",
                apps.github_token_url,
                data={
                    "client_id": apps.github_client_id,
                    "client_secret": apps.github_client_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                headers={"Accept": "application/json"},
            )
            # GitHub answers a refused code with 200 and an `error` field.
            access = token.get("access_token")
            if not isinstance(access, str) or not access:
                raise SignInError(f"GitHub refused the sign-in ({token.get('error', 'no token')})")
            user = await self._call(
                http,
                "github",
                "GET",
                f"{apps.github_api_url.rstrip('/')}/user",
                headers={
                    "Authorization": f"Bearer {access}",
                    "Accept": "application/vnd.github+json",
                },
            )
        return GitHubIdentity(login=str(user["login"]), id=str(user["id"]))

    async def discord_identity(self, code: str, redirect_uri: str) -> DiscordIdentity:
        apps = self._apps
        client_id = await self._discord_client_id()
        async with aiohttp.ClientSession(timeout=self._timeout) as http:
            token = await self._call(
                http,
                "discord",
                "POST",
                apps.discord_token_url,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                headers={
                    "Authorization": aiohttp.encode_basic_auth(
                        client_id, apps.discord_client_secret
                    )
                },
            )
            access = token.get("access_token")
            if not isinstance(access, str) or not access:
                raise SignInError("Discord refused the sign-in")
            scopes = set(str(token.get("scope", "")).split())
            if not {"identify", "guilds.join"} <= scopes:
                raise SignInError("Discord did not grant joining servers (guilds.join)")
            user = await self._call(
                http,
                "discord",
                "GET",
                f"{apps.discord_api_url.rstrip('/')}/users/@me",
                headers={"Authorization": f"Bearer {access}"},
            )
        return DiscordIdentity(
            id=str(user["id"]), username=str(user["username"]), access_token=access
        )

    async def _call(
        self,
        http: aiohttp.ClientSession,
        platform: str,
        method: str,
        url: str,
        **kwargs: Any,
    ) -> dict[str, Any]:
        started = time.monotonic()
        path = yarl.URL(url).path
        status: int | None = None
        error: str | None = None
        try:
            async with http.request(method, url, **kwargs) as response:
                status = response.status
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            error = type(exc).__name__
            raise SignInError(f"{platform} could not be reached for the sign-in") from exc
        finally:
            await self._sink.record_http(
                HttpExchange(
                    platform=platform,
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round((time.monotonic() - started) * 1000),
                    request_summary={"method": method, "path": path, "oauth": True},
                    error=error,
                ),
                current_context(),
            )
        if status is None or status >= 400 or not isinstance(body, dict):
            raise SignInError(f"{platform} refused the sign-in (HTTP {status})")
        return body
