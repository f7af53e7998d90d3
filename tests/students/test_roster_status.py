"""The roster status: per person, the join e-mail, the GitHub invitation and Discord, over REST
a page at a time, and the summary `/course roster-status` shows."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from provisioning.courses.spec import parse_course
from tests.e2e.harness import Control, Product, logins
from tests.students.mailbox import Mailbox
from tests.students.test_join_email import LINK, lab_with_emails


async def provisioned_with_trouble(
    product: Product, control: Control, people: dict[str, str]
) -> str:
    """The 3-group lab, one student's address refused, another's login unknown to GitHub."""
    data = lab_with_emails(people)
    data["students"][0]["email"] = "nobody@example.edu"
    data["students"][1]["github"] = "s-1-2-typo"
    spec = parse_course(data)
    await control.github_users(login for login in logins(spec) if login != "s-1-2-typo")
    course_id = await product.create(data)
    await product.run()
    return course_id


async def test_the_roster_says_who_is_in_and_who_is_stuck(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """Each person's e-mail, invitation and Discord state, paged in roster order; the refused
    address and the unknown login are stuck and say what to do; read-only tokens may read it
    and it holds no address and no link."""
    course_id = await provisioned_with_trouble(product, control, people)
    token = await product.built.tokens.create("reader", read_only=True)
    auth = {"Authorization": f"Bearer {token}"}
    async with TestClient(TestServer(product.built.web_app, host="127.0.0.1")) as client:
        items: list[dict[str, Any]] = []
        url: str | None = f"/courses/{course_id}/roster?limit=3"
        pages = 0
        while url is not None:
            response = await client.get(url, headers=auth)
            assert response.status == 200, await response.text()
            body = await response.json()
            items += body["items"]
            url = body["next"]
            pages += 1
            if url is not None:
                assert response.headers["Link"] == f'<{url}>; rel="next"'
        raw = json.dumps(items)
        missing = await client.get(
            "/courses/00000000-0000-4000-8000-000000000000/roster", headers=auth
        )
        assert missing.status == 404
        assert (await client.get(f"/courses/{course_id}/roster")).status == 401
    assert pages == 3
    by_login = {p["github"]: p for p in items}
    assert [p["github"] for p in items] == [
        "ada",
        "grace",
        "s-1-1",
        "s-1-2-typo",
        "s-2-1",
        "s-2-2",
        "s-3-1",
        "s-3-2",
    ]
    assert (by_login["ada"]["role"], by_login["ada"]["email"]) == ("instructor", "sent")
    assert by_login["ada"]["discord"] == "waiting"  # the server is not claimed yet
    assert (by_login["grace"]["email"], by_login["grace"]["discord"]) == ("no_address", "waiting")
    bounced = by_login["s-1-1"]
    assert (bounced["email"], bounced["stuck"]) == ("bounced", True)
    assert "550" in bounced["problem"]
    typo = by_login["s-1-2-typo"]
    assert (typo["email"], typo["github_state"], typo["stuck"]) == ("sent", "unknown_login", True)
    assert "fix the GitHub login" in typo["problem"]
    for login in ("s-2-1", "s-2-2", "s-3-1", "s-3-2"):
        person = by_login[login]
        assert (person["email"], person["github_state"], person["discord"]) == (
            "sent",
            "invitation_pending",
            "not_linked",
        )
        assert (person["stuck"], person["problem"]) == (False, None)
    assert by_login["s-2-1"]["group"] == "lab-02"
    assert "@example.edu" not in raw
    assert not LINK.search(raw)
    assert not re.search(r"/join/", raw)


async def test_the_summary_counts_states_and_lists_the_stuck(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """The summary a slash command shows: counts per state and the stuck people first."""
    course_id = await provisioned_with_trouble(product, control, people)
    summary = await product.built.roster.summary(course_id)
    assert summary.people == 8
    assert summary.email == {"sent": 6, "bounced": 1, "no_address": 1}
    assert summary.github == {"invitation_pending": 7, "unknown_login": 1}
    assert summary.stuck_total == 2
    assert [p.github for p in summary.stuck] == ["s-1-1", "s-1-2-typo"]
