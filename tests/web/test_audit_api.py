"""The audit trail over REST: a course's rows page by page, and chain verification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEvent
from provisioning.audit_context import AuditContext, HttpExchange
from tests.web.conftest import Client, create_course
from web.services import Services

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def _record_calls(services: Services, course_id: str, count: int) -> None:
    """Audit ``count`` GitHub calls for ``course_id`` the way the transports do."""
    context = AuditContext(actor="runner", course_id=course_id, step_key="github.repo:lecture")
    for i in range(count):
        exchange = HttpExchange(
            platform="github",
            method="POST",
            path=f"/orgs/uni-cs/repos?call={i}",
            status=201,
            duration_ms=12,
            request_summary={"name": "cs101-2027-spring"},
            request_id=f"req-{i}",
            rate_limit={"remaining": str(4999 - i)},
        )
        await services.audit.record_http(exchange, context)


async def _all_pages(
    client: Client, url: str, headers: dict[str, str]
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        assert response.status == 200, await response.text()
        body = await response.json()
        if body["next"] is None:
            assert "Link" not in response.headers
        else:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
        pages.append(body["items"])
        next_url = body["next"]
    return pages


async def test_audit_pages_oldest_first_over_several_pages(
    client: Client,
    auth: dict[str, str],
    ro_auth: dict[str, str],
    course_data: Factory,
    services: Services,
) -> None:
    """GET /courses/{id}/audit pages the course's own rows oldest first via `next` links."""
    course_id = await create_course(client, auth, course_data())
    other_id = await create_course(client, auth, course_data(code="CS202"))
    await _record_calls(services, course_id, 6)
    await _record_calls(services, other_id, 2)
    pages = await _all_pages(client, f"/courses/{course_id}/audit?limit=3", ro_auth)
    assert [len(p) for p in pages] == [3, 3, 1]
    rows = [row for page in pages for row in page]
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids)
    assert len(set(ids)) == 7
    assert rows[0]["event"] == "course.created"
    assert rows[0]["actor"] == "api:writer"
    assert [r["request_id"] for r in rows[1:]] == [f"req-{i}" for i in range(6)]
    assert rows[1]["kind"] == "http"
    assert rows[1]["status"] == 201
    assert rows[1]["rate_limit"] == {"remaining": "4999"}


async def test_audit_after_skips_rows_already_seen(
    client: Client, auth: dict[str, str], course_data: Factory, services: Services
) -> None:
    """`after` is the last id of the previous page: only newer rows come back."""
    course_id = await create_course(client, auth, course_data())
    await _record_calls(services, course_id, 2)
    first = await (await client.get(f"/courses/{course_id}/audit", headers=auth)).json()
    assert first["next"] is None
    assert first["course_id"] == course_id
    last_seen = first["items"][1]["id"]
    rest = await client.get(f"/courses/{course_id}/audit?after={last_seen}", headers=auth)
    assert [r["id"] for r in (await rest.json())["items"]] == [first["items"][2]["id"]]


async def test_audit_of_unknown_course_is_404_and_bad_query_is_400(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """An unknown course is a 404 problem; a bad `after` or `limit` is a 400 problem."""
    missing = await client.get("/courses/00000000-0000-4000-8000-000000000000/audit", headers=auth)
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    course_id = await create_course(client, auth, course_data())
    for query in ("after=-1", "after=x", f"after={2**63}", "limit=0", "limit=101"):
        response = await client.get(f"/courses/{course_id}/audit?{query}", headers=auth)
        assert response.status == 400, query
        assert response.content_type == "application/problem+json"


async def test_audit_routes_need_a_token(client: Client, ro_auth: dict[str, str]) -> None:
    """Both audit routes answer 401 without a token; a read-only token may read them."""
    for path in ("/audit/verify", "/courses/00000000-0000-4000-8000-000000000000/audit"):
        response = await client.get(path)
        assert response.status == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get("/audit/verify", headers=ro_auth)).status == 200


async def test_verify_reports_the_first_tampered_row(
    client: Client,
    auth: dict[str, str],
    course_data: Factory,
    services: Services,
    session_factory: Sessions,
) -> None:
    """GET /audit/verify is ok on an intact chain and names the row whose status was edited."""
    # The product's Discord login (two requests) is audited before any course exists.
    before = (await (await client.get("/audit/verify", headers=auth)).json())["checked"]
    course_id = await create_course(client, auth, course_data())
    await _record_calls(services, course_id, 4)
    intact = await (await client.get("/audit/verify", headers=auth)).json()
    assert intact == {"ok": True, "checked": before + 5, "first_broken_id": None}
    rows = (await (await client.get(f"/courses/{course_id}/audit", headers=auth)).json())["items"]
    tampered = rows[2]["id"]
    async with session_factory.begin() as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.id == tampered).values(status=500)
        )
    broken = await (await client.get("/audit/verify", headers=auth)).json()
    assert broken == {"ok": False, "checked": before + 3, "first_broken_id": tampered}
