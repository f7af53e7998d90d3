"""The documented maximum reaches the product: a 10,000-student course, every field long."""

from __future__ import annotations

import io
import json
from typing import Any

from tests.web.conftest import Client
from web.body import MAX_BODY_BYTES

STUDENTS = 10_000
GROUPS = 100


def largest_course() -> dict[str, Any]:
    """A laboratory at the student limit: 100-character names in a 2-byte script, long emails,
    37-character logins, 32-character group names, a Discord id for everyone."""
    groups = [f"group-{i:03d}-" + "x" * 22 for i in range(GROUPS)]
    return {
        "code": "CS999",
        # As long as the server name (code · title · term, at most 100) allows.
        "title": "T" * 80,
        "term": "2027-fall",
        "kind": "laboratory",
        "github_org": "demo-university",
        "staff": [
            {"role": "instructor", "name": "Ada Lovelace", "github": "ada"},
        ],
        "groups": groups,
        "students": [
            {
                "name": ("Ŝtudento " * 12)[:90] + f"{n:010d}",
                "email": f"{'student.with.a.long.address':.<50}{n:06d}@students.example.edu",
                "github": f"student-login-with-long-name-{n:08d}",
                "discord_id": str(100_000_000_000_000_000 + n),
                "group": groups[n % GROUPS],
            }
            for n in range(STUDENTS)
        ],
    }


async def test_a_course_at_the_student_limit_is_accepted(
    client: Client, auth: dict[str, str]
) -> None:
    """POST /courses with 10,000 students, every field near its longest, fits the body limit
    and is stored with its whole plan (201), as the course description's limits promise."""
    body = json.dumps(largest_course(), ensure_ascii=False).encode()
    assert len(body) < MAX_BODY_BYTES
    headers = {**auth, "Content-Type": "application/json"}
    response = await client.post("/courses", data=io.BytesIO(body), headers=headers)
    assert response.status == 201, (await response.text())[:2000]
    course_id = (await response.json())["id"]
    status = await (await client.get(f"/courses/{course_id}/status", headers=auth)).json()
    assert status["platforms"]["github"]["pending"] > STUDENTS  # an invitation each, and more
    assert len(status["steps"]) == 100  # a page of them
