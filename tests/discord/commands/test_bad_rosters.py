"""Bad roster attachments: every problem named by row and column, and nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import CourseDraft
from tests.e2e.harness import Control, Product, laboratory

from .conftest import Person, attachment, string
from .test_create_flow import DETAILS


async def stored(product: Product) -> tuple[int, int]:
    """(courses, drafts) in the database."""
    async with product.sessions() as session:
        drafts = await session.scalar(select(func.count()).select_from(CourseDraft))
    return len(await product.courses.recent()), int(drafts or 0)


async def create_with(ada: Person, csv: bytes, kind: str = "laboratory") -> str:
    """/course create with `csv` attached, the modal filled in: the reply's text."""
    opened = await ada.run("create", string("kind", kind), attachment("roster", csv))
    submitted = await ada.submit(opened["id"], DETAILS)
    reply = await ada.reply(submitted["id"])
    assert reply["flags"] & 64
    assert reply["components"] == []  # no Confirm to click
    return str(reply["content"])


@pytest.mark.parametrize(
    ("csv", "kind", "lines"),
    [
        (
            "name,github,group\nBöb,bob-b,lab-01\n".encode("latin-1"),
            "laboratory",
            [
                "- roster: the file is not UTF-8 (byte 19); save it as 'CSV UTF-8' and upload it "
                "again"
            ],
        ),
        (
            b"name,email\nBob,bob@example.edu\n",
            "lecture",
            ["- row 1: required column 'github' is missing"],
        ),
        (
            b"name,github,group\nBob,bob-b,lab-01\nCarol,carol-c,\nBobby,BOB-B,lab-02\n",
            "laboratory",
            [
                "- row 3, column group: every student of a laboratory course needs a lab group",
                "- row 4, column github: 'bob-b' appears already in row 2",
            ],
        ),
        (
            b"name,github,group\nBob,bob-b,lab-01\n",
            "lecture",
            ["- row 2, column group: this course has no lab groups; leave the cell empty"],
        ),
    ],
    ids=["latin-1", "missing-column", "duplicate-and-missing-group", "group-in-a-lecture"],
)
async def test_a_bad_roster_names_rows_and_columns_and_stores_nothing(
    product: Product, ada: Person, csv: bytes, kind: str, lines: list[str]
) -> None:
    """The reply starts with the problem count and lists each problem where it is."""
    text = await create_with(ada, csv, kind)
    assert text.startswith("Invalid course description:"), text
    for line in lines:
        assert line in text.splitlines(), text
    assert await stored(product) == (0, 0)


async def test_bad_details_and_a_bad_roster_are_reported_together(
    product: Product, ada: Person
) -> None:
    """A bad term in the modal and a bad login in the CSV: both in one reply."""
    opened = await ada.run(
        "create", string("kind", "lecture"), attachment("roster", b"name,github\nEve,-eve-\n")
    )
    submitted = await ada.submit(opened["id"], {**DETAILS, "term": "someday"})
    text = (await ada.reply(submitted["id"]))["content"]
    assert text.startswith("Invalid course description: 2 problems")
    assert any(line.startswith("- row 2, column github:") for line in text.splitlines())
    assert any(line.startswith("- term:") for line in text.splitlines())
    assert await stored(product) == (0, 0)


async def test_five_megabytes_are_refused_before_the_modal(product: Product, ada: Person) -> None:
    """A 5 MB file is no roster: refused at once, with the limit; no modal opens."""
    csv = b"name,github\n" + b"x" * (5 * 1024 * 1024)
    seen = await ada.run("create", string("kind", "lecture"), attachment("roster", csv))
    assert seen["callback"]["type"] == 4
    assert seen["modal"] is None
    assert seen["original"]["content"] == (
        "Roster file too large: roster.csv is 5.0 MiB; a roster has at most 2 MiB. Attach the "
        "CSV export of the class list (columns name, github, and optionally email, "
        "discord_id, group)"
    )
    assert await stored(product) == (0, 0)


async def test_a_roster_with_an_unknown_group_changes_nothing(
    product: Product, control: Control, ada: Person
) -> None:
    """/course roster on a lab course with a group it does not have: row and column, the
    course's groups, and no change stored."""
    people = await control.discord_users()
    course_id = await product.create(laboratory(people["ada"], people["grace"]))
    before = await product.courses.get(course_id)
    csv = b"name,github,group\nAlan,alan-t,lab-01\nBarbara,barbara-l,lab-09\n"
    seen = await ada.run("roster", string("course", course_id), attachment("file", csv))
    text = (await ada.reply(seen["id"]))["content"]
    assert text.splitlines() == [
        "Invalid course description: 1 problem in the course description",
        "- row 3, column group: unknown lab group 'lab-09'; known groups: lab-01, lab-02, lab-03",
    ]
    assert (await product.courses.get(course_id)).spec == before.spec
    assert await stored(product) == (1, 0)
