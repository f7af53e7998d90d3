"""What the Discord and GitHub OAuth2 emulations share: client credentials, redirect URIs,
codes, and who the person at the browser is.

Both platforms check the `redirect_uri` against what the application registered. The sandbox
also accepts any `http://127.0.0.1:<port>/...` or `http://localhost:<port>/...` URI, so a
product started on a fresh port works without registering anything (development only: the
real platforms accept only what was registered).

Who the person is (a sandbox user picked on an authorize page) lives in a plain cookie per
platform, readable by every sandbox page (`remembered_user`); it is a choice, not a secret.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from aiohttp import web

CODE_TTL = 600.0
"""Authorization codes are single use and expire after 10 minutes, on both platforms."""
DEV_REDIRECT_HOSTS = frozenset({"127.0.0.1", "localhost"})
USER_COOKIES = {"discord": "sandbox_discord_user", "github": "sandbox_github_user"}


def new_secret_value(prefix: str = "") -> str:
    """A code or token: unguessable, URL-safe."""
    return prefix + secrets.token_urlsafe(30)


def client_credentials(
    request: web.Request, form: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """(client_id, client_secret) from HTTP Basic auth, else from the form fields."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        # RFC 6749 §2.3.1: both parts are form-urlencoded before going into Basic auth.
        return unquote(client_id), unquote(client_secret)
    return form.get("client_id"), form.get("client_secret")


def is_dev_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in DEV_REDIRECT_HOSTS


def redirect_allowed(uri: str, registered: Iterable[str]) -> bool:
    """An exact match with a registered URI, or a loopback URI (development)."""
    return uri in set(registered) or is_dev_redirect(uri)


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """`uri` with `params` added to its query (None values left out), keeping what it had."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def remembered_user(request: web.Request, platform: str) -> str | None:
    """The sandbox user the browser picked last on `platform` ("discord" or "github")."""
    return request.cookies.get(USER_COOKIES[platform]) or None


def remember_user(response: web.StreamResponse, platform: str, value: str) -> None:
    # Lax: a person arriving from the product (a top-level navigation) is still recognised.
    response.set_cookie(USER_COOKIES[platform], value, path="/", samesite="Lax", httponly=True)
