"""The database gone while people look: a page that says so (503, HTML), and /readyz 503."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from tests.conftest import pg_admin, postgres_server_url
from tests.web.conftest import Client, create_course
from tests.web.pages.helpers import lab_course, sign_in


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_page_says_the_database_is_unreachable(
    database_url: str, client: Client, token: str, auth: dict[str, str]
) -> None:
    """After the product's PostgreSQL database is dropped under it (connections killed), the
    course page is a 503 page in words, not a traceback or JSON, and /readyz answers 503."""
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, token)
    assert (await client.get(f"/app/courses/{course_id}")).status == 200

    name = make_url(database_url).database
    pg_admin(postgres_server_url(), f'DROP DATABASE "{name}" WITH (FORCE)')

    page = await client.get(f"/app/courses/{course_id}")
    assert page.status == 503
    assert page.content_type == "text/html"
    text = await page.text()
    assert "The database is not reachable" in text
    assert "Nothing was lost" in text
    assert (await client.get("/readyz")).status == 503
