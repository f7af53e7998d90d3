"""Platform-shaped error answers for injected faults (what real clients expect to parse)."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

GITHUB_SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)
GITHUB_SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def discord_json(payload: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares Content-Type to exactly "application/json"; a charset makes it a str.
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def server_error(platform: str, status: int) -> web.Response:
    """A 5xx body as each platform sends it."""
    reason = _REASONS.get(status, "Server Error")
    if platform == "discord":
        return discord_json({"message": f"{status}: {reason}", "code": 0}, status)
    return web.json_response({"message": reason}, status=status)


def rate_limited(platform: str, retry_after: float, status: int | None = None) -> web.Response:
    """A rate-limit answer: Discord 429 (with `Via`) or GitHub secondary-limit 403/429."""
    if platform == "discord":
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": "user",
        }
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        return discord_json(body, status or 429, headers)
    return web.json_response(
        {"message": GITHUB_SECONDARY_MESSAGE, "documentation_url": GITHUB_SECONDARY_DOCS},
        status=status or 403,
        headers={"retry-after": str(math.ceil(retry_after))},
    )
