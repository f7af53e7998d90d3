"""`/course archive` and `/course unarchive`: the preview, then Confirm applies it once."""

from __future__ import annotations

from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, github_state, provision_lab_on_discord

from .conftest import Person, buttons, embed_text, ephemeral, string

SLUG = "cs201-2027-fall"
REPOS = [SLUG, *(f"{SLUG}-lab-0{i}" for i in (1, 2, 3))]


def _archived(sandbox: SandboxServer) -> dict[str, bool]:
    repos = github_state(sandbox).repos.values()
    return {r.name: r.archived for r in repos if r.name.startswith(SLUG)}


async def _preview(ada: Person, sub: str, course_id: str) -> dict[str, object]:
    seen = await ada.run(sub, string("course", course_id))
    return await ada.reply(seen["id"])


async def test_archive_then_unarchive_through_the_commands(
    product: Product, sandbox: SandboxServer, control: Control
) -> None:
    """The archive preview names each repository, the channels and the invite links; nothing
    changes before Confirm; two Confirms archive once; the steps archive the repositories.
    Unarchive previews the way back and Confirm restores the course."""
    people = await control.discord_users()
    course_id, _, _ = await provision_lab_on_discord(product, control, people)
    ada = Person(control, "ada")

    message = await _preview(ada, "archive", course_id)
    assert ephemeral(message)
    text = embed_text(message)
    assert "Archive: CS201 · 2027-fall" in text
    assert "Repositories archived (read-only, kept) (4)" in text
    for repo in REPOS:
        assert f"- `{repo}`\n" in text
    assert "Channels made read-only for students (6)\n- #general\n" in text
    assert text.endswith("Invite links revoked (4)\n- students\n- lab-01\n- lab-02\n- lab-03")
    assert "Other changes" not in text
    assert (await product.courses.get(course_id)).archived_at is None  # nothing before Confirm

    confirm = buttons(message)["Confirm"]
    first = await ada.click(message["id"], confirm, wait=False)
    second = await ada.click(message["id"], confirm, wait=False)
    replies = sorted(
        [(await ada.reply(first["id"]))["content"], (await ada.reply(second["id"]))["content"]]
    )
    assert replies[0].startswith("CS201 · 2027-fall: archived ("), replies
    assert "4 retired" in replies[0]
    assert replies[1] == "CS201 · 2027-fall: this course was archived already (an earlier Confirm)."
    assert (await product.courses.get(course_id)).archived_at is not None
    await product.run()
    assert _archived(sandbox) == dict.fromkeys(REPOS, True)

    again = await _preview(ada, "archive", course_id)
    assert again["content"] == (
        "CS201 · 2027-fall is archived already; `/course unarchive` undoes it."
    )
    assert buttons(again) == {}

    message = await _preview(ada, "unarchive", course_id)
    text = embed_text(message)
    assert "Unarchive: CS201 · 2027-fall" in text
    assert "Repositories unarchived (4)" in text
    assert "Invite links made anew (4)" in text
    clicked = await ada.click(message["id"], buttons(message)["Confirm"])
    reply = await ada.reply(clicked["id"])
    assert reply["content"].startswith("CS201 · 2027-fall: unarchived ("), reply["content"]
    assert (await product.courses.get(course_id)).archived_at is None
    await product.run()
    assert _archived(sandbox) == dict.fromkeys(REPOS, False)
    assert set((await product.states(course_id)).values()) == {"succeeded"}

    not_archived = await _preview(ada, "unarchive", course_id)
    assert not_archived["content"] == "CS201 · 2027-fall is not archived; nothing to undo."


async def test_cancel_leaves_the_course_as_it_was(product: Product, control: Control) -> None:
    """Cancel under the archive preview: the course stays active, the preview says who
    cancelled and loses its buttons."""
    people = await control.discord_users()
    course_id, _, _ = await provision_lab_on_discord(product, control, people)
    ada = Person(control, "ada")
    message = await _preview(ada, "archive", course_id)
    cancel = await ada.click(message["id"], buttons(message)["Cancel"])
    shown = await ada.until(cancel["id"], lambda v: v["original"]["components"] == [])
    text = embed_text(shown["original"])
    assert text.startswith("Archive: CS201 · 2027-fall"), text
    assert "Cancelled by" in text
    assert "nothing was stored" in text
    assert (await product.courses.get(course_id)).archived_at is None


async def test_cancel_and_confirm_racing_agree(product: Product, control: Control) -> None:
    """Cancel and Confirm clicked together: whichever wins, the replies say what happened and
    the course's state agrees with them (never "archived already" for a cancelled preview)."""
    people = await control.discord_users()
    course_id, _, _ = await provision_lab_on_discord(product, control, people)
    ada = Person(control, "ada")
    message = await _preview(ada, "archive", course_id)
    ids = buttons(message)
    confirm = await ada.click(message["id"], ids["Confirm"], wait=False)
    cancel = await ada.click(message["id"], ids["Cancel"], wait=False)
    confirmed = await ada.reply(confirm["id"])
    said = confirmed["content"] + embed_text(confirmed)
    if (await product.courses.get(course_id)).archived_at is None:
        assert "cancelled" in said, said
    else:
        assert said.startswith("CS201 · 2027-fall: archived ("), said
        refused = await ada.reply(cancel["id"])
        assert refused["content"] == (
            "This preview was confirmed already; cancelling it now changes nothing."
        )


async def test_autocomplete_offers_the_admins_courses(
    product: Product, control: Control, ada: Person
) -> None:
    people = await control.discord_users()
    people = await control.discord_users()
    course_id, _, _ = await provision_lab_on_discord(product, control, people)
    for sub in ("archive", "unarchive", "roster-status"):
        choices = await ada.autocomplete(sub, "course", "cs2")
        assert [c["value"] for c in choices] == [course_id], sub
