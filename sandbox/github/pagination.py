"""`Link`-header pagination (`per_page`, `page`) for list endpoints."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from sandbox.github.errors import ApiError


def paginate(request: web.Request, items: list[Any]) -> web.Response:
    try:
        per_page = min(100, max(1, int(request.query.get("per_page", "30"))))
        page = max(1, int(request.query.get("page", "1")))
    except ValueError as exc:
        raise ApiError(422, "Validation Failed") from exc
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def link(n: int, rel: str) -> str:
        url = request.url.update_query(per_page=str(per_page), page=str(n))
        return f'<{url}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    headers = {"Link": ", ".join(links)} if links else {}
    return web.json_response(chunk, headers=headers)
