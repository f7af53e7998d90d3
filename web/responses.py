"""JSON responses with the media type the status calls for."""

from __future__ import annotations

from aiohttp import web

from web.problems import PROBLEM_JSON


def json_response(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    """``text`` (already JSON) as the answer; errors go out as problem+json."""
    content_type = PROBLEM_JSON if status >= 400 else "application/json"
    return web.Response(status=status, text=text, content_type=content_type, headers=headers)
