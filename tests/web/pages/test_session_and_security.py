"""Sessions, sign-in with a token, CSRF, security headers and error pages, over plain HTTP
(the browser tests show the same pages to a person)."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from tests.fakes.clocks import ManualClock
from tests.web.conftest import Client, create_course
from tests.web.pages.helpers import csrf_of, lab_course, sign_in
from web.session import COOKIE_NAME, SESSION_LIFETIME


async def test_a_page_without_a_session_sends_to_sign_in_and_back(
    client: Client, token: str
) -> None:
    """No session: 303 to the sign-in page with where the person was; after signing in with a
    token, they land there."""
    response = await client.get("/app/courses?term=2027-fall", allow_redirects=False)
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert location.path == "/app/sign-in"
    assert location.query["next"] == "/app/courses?term=2027-fall"

    csrf = await csrf_of(client, response.headers["Location"])
    signed = await client.post(
        "/app/sign-in",
        data={"csrf_token": csrf, "token": token, "next": "/app/courses?term=2027-fall"},
        allow_redirects=False,
    )
    assert signed.status == 303
    assert signed.headers["Location"] == "/app/courses?term=2027-fall"
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = await client.get("/app/courses?term=2027-fall")
    assert page.status == 200
    assert "writer" in await page.text()


async def test_a_wrong_token_is_refused_next_to_the_field(client: Client) -> None:
    """An unknown token: 401 and the sign-in form again, saying what is wrong."""
    csrf = await csrf_of(client, "/app/sign-in")
    response = await client.post(
        "/app/sign-in", data={"csrf_token": csrf, "token": "cpb_nope", "next": ""}
    )
    assert response.status == 401
    text = await response.text()
    assert 'id="token-error"' in text
    assert "unknown or revoked" in text


async def test_the_next_page_is_never_another_site(client: Client, token: str) -> None:
    """`next` pointing elsewhere (open redirect) lands on the courses page instead."""
    for target in ("https://evil.example/", "//evil.example/app/", "/app/sign-in"):
        client.session.cookie_jar.clear()
        csrf = await csrf_of(client, "/app/sign-in")
        response = await client.post(
            "/app/sign-in",
            data={"csrf_token": csrf, "token": token, "next": target},
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/app/courses", target


async def test_a_forged_form_post_is_refused(
    client: Client, token: str, auth: dict[str, str]
) -> None:
    """A signed-in person's browser posting a form without (or with another) CSRF token: 403
    page, and the course is not retried."""
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, token)
    for data in ({}, {"csrf_token": "forged"}):
        response = await client.post(f"/app/courses/{course_id}/retry", data=data)
        assert response.status == 403
        assert response.content_type == "text/html"
        assert "This form cannot be accepted" in await response.text()
    audit = await (await client.get(f"/courses/{course_id}/audit", headers=auth)).json()
    assert "course.retry_requested" not in {row["event"] for row in audit["items"]}


async def test_an_expired_session_signs_in_again_and_returns(
    client: Client, token: str, clock: ManualClock
) -> None:
    """Past the session's lifetime (the product's clock) the page sends to sign-in with the
    page as `next`; a still-fresh session is kept."""
    await sign_in(client, token)
    assert (await client.get("/app/courses", allow_redirects=False)).status == 200
    clock.advance(SESSION_LIFETIME.total_seconds() - 60)
    assert (await client.get("/app/courses", allow_redirects=False)).status == 200
    clock.advance(120)
    response = await client.get("/app/courses", allow_redirects=False)
    assert response.status == 303
    assert URL(response.headers["Location"]).query["next"] == "/app/courses"


async def test_sign_out_ends_the_session(client: Client, token: str) -> None:
    """After Sign out the pages ask for sign-in again."""
    await sign_in(client, token)
    csrf = await csrf_of(client, "/app/courses")
    out = await client.post("/app/sign-out", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/app/courses", allow_redirects=False)).status == 303


async def test_pages_carry_the_security_headers(client: Client, token: str) -> None:
    """A CSP without inline scripts and no framing, nosniff; the API and /docs too."""
    await sign_in(client, token)
    for path in ("/app/courses", "/app/sign-in", "/app/nope", "/healthz", "/docs"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0], path
        assert "frame-ancestors 'none'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


async def test_error_pages_are_html(client: Client, token: str) -> None:
    """An unknown course and an unknown page: 404 pages in HTML, not JSON; the API keeps JSON."""
    await sign_in(client, token)
    missing = await client.get("/app/courses/3f1c7f6e-0000-4000-8000-000000000000")
    assert missing.status == 404
    assert missing.content_type == "text/html"
    assert "No such course" in await missing.text()
    nonsense = await client.get("/app/courses/not-a-uuid/audit")
    assert nonsense.status == 404
    assert nonsense.content_type == "text/html"
    page = await client.get("/app/no/such/page")
    assert page.status == 404
    assert "Page not found" in await page.text()
    api = await client.get("/nope")
    assert api.content_type == "application/problem+json"


async def test_a_read_only_token_gets_no_retry_and_cannot_post_one(
    client: Client, ro_token: str, auth: dict[str, str]
) -> None:
    """A read-only token sees the course without a Retry button or claim code, and a retry
    it posts anyway is refused with a page naming what is needed."""
    course_id = await create_course(client, auth, lab_course())
    await sign_in(client, ro_token)
    page = await client.get(f"/app/courses/{course_id}")
    text = await page.text()
    assert page.status == 200
    assert "Retry" not in text
    assert "Claim code" not in text
    csrf = await csrf_of(client, f"/app/courses/{course_id}")
    refused = await client.post(f"/app/courses/{course_id}/retry", data={"csrf_token": csrf})
    assert refused.status == web.HTTPForbidden.status_code
    assert "read-write API token" in await refused.text()
