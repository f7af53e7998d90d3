"""Shared by the page tests: a course to look at, and signing in as a browser would."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Client

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def lab_course(code: str = "CS201", term: str = "2027-fall") -> dict[str, Any]:
    """A laboratory of two groups whose people have no Discord ids (nothing to wait for but the
    server claim)."""
    return {
        "code": code,
        "title": "Systems Lab",
        "term": term,
        "kind": "laboratory",
        "github_org": "course-org",
        "staff": [
            {"role": "instructor", "name": "Ada Lovelace", "github": "ada"},
            {"role": "ta", "name": "Grace Hopper", "github": "grace"},
        ],
        "groups": ["lab-01", "lab-02"],
        "students": [
            {"name": "Bob", "github": "bob-b", "group": "lab-01"},
            {"name": "Carol", "github": "carol-c", "group": "lab-02"},
        ],
    }


async def csrf_of(client: Client, path: str) -> str:
    """The CSRF token a page's forms carry (the page also sets the session cookie)."""
    page = await client.get(path)
    found = CSRF.search(await page.text())
    assert found, f"no CSRF token on {path}"
    return found.group(1)


async def sign_in(client: Client, token: str, next_page: str = "") -> None:
    """Sign `client` in with an API token through the sign-in form."""
    csrf = await csrf_of(client, "/app/sign-in")
    response = await client.post(
        "/app/sign-in",
        data={"csrf_token": csrf, "token": token, "next": next_page},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
