"""End of term and the roster over plain HTTP: what the browser test cannot easily try — a
forged Confirm, a read-only token posting one anyway, a bad roster cursor."""

from __future__ import annotations

from aiohttp import web

from tests.web.conftest import Client, create_course
from tests.web.pages.helpers import csrf_of, lab_course, sign_in


async def test_a_forged_or_read_only_archive_changes_nothing(
    client: Client, token: str, ro_token: str, auth: dict[str, str]
) -> None:
    """Confirm without the session's CSRF token: the 403 form page; a read-only token's Confirm
    with a valid token: 403 naming the admin role. The course stays unarchived."""
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, token)
    for data in ({}, {"csrf_token": "forged"}):
        response = await client.post(f"/app/courses/{course_id}/archive", data=data)
        assert response.status == 403
        assert "This form cannot be accepted" in await response.text()
    await client.post("/app/sign-out", data={"csrf_token": await csrf_of(client, "/app/courses")})

    await sign_in(client, ro_token)
    page = await client.get(f"/app/courses/{course_id}")
    assert "Archive…" not in await page.text()
    csrf = await csrf_of(client, f"/app/courses/{course_id}")
    refused = await client.post(f"/app/courses/{course_id}/archive", data={"csrf_token": csrf})
    assert refused.status == web.HTTPForbidden.status_code
    assert "admin role" in await refused.text()
    course = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert course.get("archived_at") is None


async def test_archive_then_unarchive_and_a_second_archive_goes_back_to_the_course(
    client: Client, token: str, auth: dict[str, str]
) -> None:
    """Archiving an archived course again (a second tab) previews nothing and changes nothing:
    the preview sends back to the course; Unarchive brings it back."""
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, token)
    preview = await client.get(f"/app/courses/{course_id}/archive")
    assert preview.status == 200
    assert "Confirm: archive CS201" in await preview.text()
    csrf = await csrf_of(client, f"/app/courses/{course_id}")
    done = await client.post(
        f"/app/courses/{course_id}/archive", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert done.status == 303
    assert done.headers["Location"] == f"/app/courses/{course_id}?archive=done"
    again = await client.get(f"/app/courses/{course_id}/archive", allow_redirects=False)
    assert again.status == 303
    assert again.headers["Location"] == f"/app/courses/{course_id}"
    assert "Unarchive…" in await (await client.get(f"/app/courses/{course_id}")).text()
    back = await client.post(
        f"/app/courses/{course_id}/unarchive", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert back.status == 303
    assert "Archive…" in await (await client.get(f"/app/courses/{course_id}")).text()


async def test_a_bad_roster_cursor_is_a_page_naming_it(
    client: Client, token: str, auth: dict[str, str]
) -> None:
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, token)
    page = await client.get(f"/app/courses/{course_id}?after=x")
    assert page.status == 400
    assert "after must be" in await page.text()
    roster = await client.get(f"/app/courses/{course_id}")
    text = await roster.text()
    assert 'data-person="bob-b"' in text
    assert 'data-person="carol-c"' in text
