"""The new-course form over HTTP: Confirm twice makes one course, Change keeps every value,
and only those who may create see the form."""

from __future__ import annotations

import html
import re

from tests.web.conftest import Client
from tests.web.pages.helpers import csrf_of, sign_in
from web.services import Services

FORM = {
    "code": "CS201",
    "title": "Systems Lab",
    "term": "2027-fall",
    "kind": "laboratory",
    "github_org": "course-org",
    "student_permission": "push",
    "groups": "lab-01, lab-02",
    "staff": "instructor,Ada Lovelace,ada\nta,Grace Hopper,grace",
    "roster": "name,github,group\nBob,bob-b,lab-01\nCarol,carol-c,lab-02",
}
SPEC = re.compile(r'name="spec" value="([^"]+)"')


async def _preview(client: Client) -> str:
    """Send the form; the preview page's text."""
    csrf = await csrf_of(client, "/app/courses/new")
    response = await client.post("/app/courses/new", data={"csrf_token": csrf, **FORM})
    assert response.status == 200, await response.text()
    return await response.text()


async def test_confirming_twice_creates_one_course(
    client: Client, token: str, services: Services
) -> None:
    """The same preview confirmed twice (a double click, a resent form): the second lands on
    the course the first made, and one course exists."""
    await sign_in(client, token)
    text = await _preview(client)
    found = SPEC.search(text)
    assert found
    spec = html.unescape(found.group(1))
    csrf = await csrf_of(client, "/app/courses/new")
    first = await client.post(
        "/app/courses/new/confirm",
        data={"csrf_token": csrf, "spec": spec},
        allow_redirects=False,
    )
    second = await client.post(
        "/app/courses/new/confirm",
        data={"csrf_token": csrf, "spec": spec},
        allow_redirects=False,
    )
    assert first.status == second.status == 303
    course = first.headers["Location"].split("?")[0]
    assert second.headers["Location"] == f"{course}?created=exists"
    page = await client.get(second.headers["Location"])
    assert "exists already: here it is" in await page.text()
    listing = await services.overview.page()
    assert [row.code for row in listing.rows] == ["CS201"]
    assert course == f"/app/courses/{listing.rows[0].id}"


async def test_change_brings_back_the_form_with_every_value(client: Client, token: str) -> None:
    """From the preview, Change something shows the form holding what was entered."""
    await sign_in(client, token)
    found = SPEC.search(await _preview(client))
    assert found
    csrf = await csrf_of(client, "/app/courses/new")
    form = await client.post(
        "/app/courses/new",
        data={"csrf_token": csrf, "spec": html.unescape(found.group(1)), "action": "edit"},
    )
    text = html.unescape(await form.text())
    assert 'value="CS201"' in text
    assert 'value="lab-01, lab-02"' in text
    assert "ta,Grace Hopper,grace" in text
    assert "Carol,,carol-c,,lab-02" in text


async def test_a_read_only_token_may_not_create(client: Client, ro_token: str) -> None:
    """No New course link, and the form itself answers 403 naming what is needed."""
    await sign_in(client, ro_token)
    assert "New course" not in await (await client.get("/app/courses")).text()
    refused = await client.get("/app/courses/new")
    assert refused.status == 403
    assert "read-write API token or the admin role" in await refused.text()
