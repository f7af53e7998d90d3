"""`/course roster`: the difference first, then only that difference after Confirm."""

from __future__ import annotations

from provisioning.courses.spec import parse_course
from tests.e2e.harness import Control, Product, laboratory, logins

from .conftest import Person, attachment, buttons, embed_text, string


def csv(*rows: str) -> bytes:
    return ("name,email,github,group\n" + "\n".join(rows) + "\n").encode()


async def roster_preview(ada: Person, course_id: str, data: bytes) -> dict[str, object]:
    seen = await ada.run("roster", string("course", course_id), attachment("file", data))
    return await ada.reply(seen["id"])


async def test_the_difference_is_shown_then_applied_once(
    product: Product, control: Control, ada: Person
) -> None:
    """Adding a student, moving one and fixing a login: the preview lists each by name; Confirm
    applies exactly that (the stored description has the new roster), a second Confirm changes
    nothing more."""
    people = await control.discord_users()
    course_id = await product.create(laboratory(people["ada"], people["grace"]))
    before = (await product.courses.get(course_id)).spec
    rows = [f"{s.name},{s.email or ''},{s.github},{s.group}" for s in before.students]
    rows[0] = rows[0].replace("lab-01", "lab-02")  # Student 1-1 moves
    rows[1] = rows[1].replace("s-1-2", "s-1-2-new")  # Student 1-2's new login
    rows.append("Nora New,nora@example.edu,nora-n,lab-03")
    message = await roster_preview(ada, course_id, csv(*rows))
    text = embed_text(message)
    assert "Roster change: CS201 · 2027-fall" in text
    assert "7 students after the change." in text
    assert "Added (1)\n- Nora New (`nora-n`), lab-03" in text
    assert "Moved (1)\n- Student 1-1 (`s-1-1`): lab-01 → lab-02" in text
    assert "Changed GitHub logins (1)\n- Student 1-2: `s-1-2` → `s-1-2-new`" in text
    assert "Removed" not in text
    assert (await product.courses.get(course_id)).spec == before  # nothing before Confirm

    confirm = buttons(message)["Confirm"]
    first = await ada.click(message["id"], confirm, wait=False)
    second = await ada.click(message["id"], confirm, wait=False)
    replies = sorted(
        [(await ada.reply(first["id"]))["content"], (await ada.reply(second["id"]))["content"]]
    )
    # The steps of Nora (her join e-mail among them) and of Student 1-2's new login.
    assert replies[0].startswith("CS201 · 2027-fall: roster applied (4 steps added, ")
    assert replies[1] == (
        "CS201 · 2027-fall: this roster change was applied already (an earlier Confirm)."
    )
    after = (await product.courses.get(course_id)).spec
    assert sorted(s.github for s in after.students) == sorted(
        [s.github for s in before.students if s.github != "s-1-2"] + ["s-1-2-new", "nora-n"]
    )


async def test_a_removal_over_the_safety_limit_is_named_and_confirm_applies_it(
    product: Product, control: Control, ada: Person
) -> None:
    """A roster without a student whose invitation exists already: one of six students is over
    the 10% safety limit, so the preview names the removal and why; Confirm confirms exactly
    that number and the student's team membership is ended by a removal step."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    await product.run()
    before = (await product.courses.get(course_id)).spec
    rows = [f"{s.name},,{s.github},{s.group}" for s in before.students[1:]]
    message = await roster_preview(ada, course_id, csv(*rows))
    text = embed_text(message)
    assert "Removed (1)\n- Student 1-1 (`s-1-1`)" in text
    assert "Over the safety limit" in text
    assert "1 of 6 students dropped, over the limit of 10%" in text
    clicked = await ada.click(message["id"], buttons(message)["Confirm"])
    reply = await ada.reply(clicked["id"])
    assert reply["content"].startswith("CS201 · 2027-fall: roster applied ("), reply["content"]
    after = (await product.courses.get(course_id)).spec
    assert [s.github for s in after.students] == [s.github for s in before.students[1:]]
    states = await product.states(course_id)
    assert states["github.invite:lab-01:s-1-1"] == "pending"  # now a removal step, queued


async def test_the_same_roster_changes_nothing(
    product: Product, control: Control, ada: Person
) -> None:
    """Uploading the roster the course already has: said so, no buttons."""
    people = await control.discord_users()
    course_id = await product.create(laboratory(people["ada"], people["grace"]))
    spec = (await product.courses.get(course_id)).spec
    rows = [f"{s.name},,{s.github},{s.group}" for s in spec.students]
    reply = await roster_preview(ada, course_id, csv(*rows))
    assert reply["content"] == (
        "CS201 · 2027-fall: this roster is the same as the course's; nothing to change."
    )
    assert reply["components"] == []
