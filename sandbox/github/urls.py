"""URL building: every `url` points back at this server, including the `/api/v3` prefix.

PyGithub keeps only the path and query of URLs it follows and sends them to its own base host,
so a URL without `/api/v3` would miss the emulator entirely.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

API_PREFIX = "/api/v3"


class Urls:
    """The API base and the "web" base (the sandbox root, standing in for github.com)."""

    def __init__(self, request: web.Request) -> None:
        root = f"{request.scheme}://{request.host}"
        self.web = root
        self.api = root + API_PREFIX

    def user(self, login: str) -> str:
        return f"{self.api}/users/{login}"

    def org(self, login: str) -> str:
        return f"{self.api}/orgs/{login}"

    def repo(self, full_name: str) -> str:
        return f"{self.api}/repos/{full_name}"

    def team(self, org: str, slug: str) -> str:
        return f"{self.api}/orgs/{org}/teams/{slug}"


def iso(ts: float) -> str:
    """GitHub's timestamp format: UTC, seconds, trailing Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, ident: int | str) -> str:
    return f"{kind}_{ident}"
