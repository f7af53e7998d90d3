"""The courses list (newest first, filters, pages) and the audit page (newest first, step and
error filters, older pages), over HTTP."""

from __future__ import annotations

import re

from tests.fakes.clocks import ManualClock
from tests.web.conftest import Client, create_course
from tests.web.pages.helpers import lab_course, sign_in
from web.pages.courses import PAGE_SIZE

CODES = re.compile(r'<a href="/app/courses/[0-9a-f-]{36}">([A-Z0-9]+)</a>')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


async def test_courses_newest_first_filtered_and_paged(
    client: Client, token: str, auth: dict[str, str], clock: ManualClock
) -> None:
    """PAGE_SIZE + 5 courses in two terms: page one holds the newest PAGE_SIZE, the next link
    the rest; the term filter keeps only its courses and survives paging; the state filter
    keeps courses in that state (all are pending: none failed)."""
    made = []
    for n in range(PAGE_SIZE + 5):
        term = "2027-fall" if n % 2 else "2027-spring"
        code = f"CS{100 + n}"
        await create_course(client, auth, lab_course(code=code, term=term))
        made.append((code, term))
        clock.advance(60)
    await sign_in(client, token)
    first = await (await client.get("/app/courses")).text()
    newest = [code for code, _ in reversed(made)]
    assert CODES.findall(first) == newest[:PAGE_SIZE]
    following = NEXT.search(first)
    assert following
    second = await (await client.get(following.group(1).replace("&amp;", "&"))).text()
    assert CODES.findall(second) == newest[PAGE_SIZE:]
    assert not NEXT.search(second)

    fall = await (await client.get("/app/courses?term=2027-fall")).text()
    assert CODES.findall(fall) == [c for c, t in reversed(made) if t == "2027-fall"]
    pending = await (await client.get("/app/courses?state=pending&term=2027-spring")).text()
    assert CODES.findall(pending) == [c for c, t in reversed(made) if t == "2027-spring"]
    failed = await (await client.get("/app/courses?state=failed")).text()
    assert CODES.findall(failed) == []
    assert "No course matches these filters" in failed


async def test_audit_page_newest_first_with_filters(
    client: Client, token: str, auth: dict[str, str]
) -> None:
    """A course's events, newest first; the errors-only filter leaves no domain event (they
    have no HTTP status); the chain verification is shown."""
    course_id = await create_course(client, auth, lab_course())
    retried = await client.post(f"/courses/{course_id}/retry", headers=auth)
    assert retried.status in (202, 409)
    await sign_in(client, token)
    page = await (await client.get(f"/app/courses/{course_id}/audit")).text()
    assert "Hash chain verified" in page
    events = re.findall(r'<td data-label="What">([a-z_.]+)</td>', page)
    assert events[-1] == "course.created"
    errors = await (await client.get(f"/app/courses/{course_id}/audit?status=errors")).text()
    assert "No audit row matches" in errors
