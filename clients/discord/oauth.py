"""Sign in with Discord: the OAuth2 authorization-code flow with the `identify` scope.

The person's browser goes to Discord's authorize page; Discord sends it back with a code,
which we exchange (with the application's client secret) for a token good for one
`GET /users/@me`, to learn who they are. The token is used once and not kept.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import aiohttp

from provisioning.staff_rights import DiscordPerson, SignInError

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=15)


class DiscordOAuth:
    """Implements `DiscordIdentity`: the product's side of the flow, against Discord or the
    sandbox (`web_url`, `api_url`)."""

    def __init__(self, *, web_url: str, api_url: str, client_secret: str) -> None:
        self._web_url = web_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._client_secret = client_secret

    def authorize_url(self, client_id: str, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": client_id,
            "response_type": "code",
            "scope": "identify",
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{self._web_url}/oauth2/authorize?{urlencode(query)}"

    async def identify(self, client_id: str, code: str, redirect_uri: str) -> DiscordPerson:
        """Who the person is who brought `code` back."""
        # Client credentials in the form body, which Discord accepts as well as Basic auth.
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": self._client_secret,
        }
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
                async with http.post(f"{self._api_url}/oauth2/token", data=form) as response:
                    body = await response.json(content_type=None)
                    if response.status != 200 or "access_token" not in body:
                        log.info(
                            "discord refused the sign-in code", extra={"status": response.status}
                        )
                        raise SignInError(
                            "Discord did not accept the sign-in (the link may have been used "
                            "already or be too old); sign in again"
                        )
                    token = body["access_token"]
                async with http.get(
                    f"{self._api_url}/users/@me", headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    if response.status != 200:
                        raise SignInError("Discord did not say who you are; sign in again")
                    user = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SignInError(
                "Discord could not be reached to finish the sign-in; try again"
            ) from exc
        name = user.get("global_name") or user.get("username") or str(user["id"])
        return DiscordPerson(id=str(user["id"]), name=str(name))
