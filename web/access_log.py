"""The access log without credentials: personal join links and OAuth callbacks are redacted.

A join link's token is the only credential of the join page, and an OAuth callback carries a
code and a state; aiohttp's access log would write them in every line. `bot.app` runs the web
server with this logger class.
"""

from __future__ import annotations

import re

from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

_JOIN = re.compile(r"^/join/[^/?]+")
_CALLBACK = re.compile(r"^(/join-oauth/[^/?]+/callback)\?.*$")


def redact_path(path_qs: str) -> str:
    """`/join/<token>/github` → `/join/<redacted>/github`; a callback loses its query."""
    path_qs = _JOIN.sub("/join/<redacted>", path_qs)
    return _CALLBACK.sub(r"\1?<redacted>", path_qs)


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access logger, fed a copy of the request with the credentials masked."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request is not None and request.path.startswith("/join"):
            redacted = redact_path(request.path_qs)
            if redacted != request.path_qs:
                request = request.clone(rel_url=redacted)
        super().log(request, response, time)
