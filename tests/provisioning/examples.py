"""Course descriptions shared by tests: the README's example, a lecture and a 3-group lab."""

from __future__ import annotations

import copy
from typing import Any

ADA = {
    "role": "instructor",
    "name": "Ada Lovelace",
    "github": "ada",
    "discord_id": "80351110224678912",
}
GRACE = {"role": "ta", "name": "Grace Hopper", "github": "grace", "discord_id": None}


def lecture_course() -> dict[str, Any]:
    """A lecture course with two staff and three students."""
    return copy.deepcopy(
        {
            "code": "CS101",
            "title": "Introduction to Programming",
            "term": "2027-spring",
            "kind": "lecture",
            "github_org": "demo-university",
            "staff": [ADA, GRACE],
            "groups": [],
            "students": [
                {"name": "Bob", "email": "bob@example.edu", "github": "bob-b", "discord_id": None},
                {
                    "name": "Carol",
                    "email": None,
                    "github": "carol-c",
                    "discord_id": "80351110224678913",
                },
                {"name": "Dave", "github": "dave-d"},
            ],
        }
    )


def lab_course(groups: int = 3) -> dict[str, Any]:
    """A laboratory course with `groups` lab groups and two students in each."""
    names = [f"lab-{i:02d}" for i in range(1, groups + 1)]
    students = [
        {"name": f"Student {g}-{n}", "github": f"s-{g}-{n}", "group": group}
        for g, group in enumerate(names, start=1)
        for n in (1, 2)
    ]
    return copy.deepcopy(
        {
            "code": "CS201",
            "title": "Systems Lab",
            "term": "2027-fall",
            "kind": "laboratory",
            "github_org": "demo-university",
            "staff": [ADA, GRACE],
            "groups": names,
            "students": students,
        }
    )
