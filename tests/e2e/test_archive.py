"""End of term: a provisioned laboratory is archived, then unarchived, by its steps."""

from __future__ import annotations

import pytest

from provisioning.courses.changes import CourseArchivedError
from provisioning.courses.spec import parse_course
from provisioning.permissions import SEND_MESSAGES, VIEW_CHANNEL
from sandbox.server import SandboxServer
from tests.e2e.expect import Server, check_discord, check_github
from tests.e2e.harness import (
    MUTATING,
    Control,
    Product,
    back_to_pending,
    discord_world,
    github_state,
    journal_cursor,
    provision_lab_on_discord,
)

SLUG = "cs201-2027-fall"
REPOS = [SLUG, *(f"{SLUG}-lab-0{i}" for i in (1, 2, 3))]


def _writes(sandbox: SandboxServer, since: int) -> list[tuple[str, str]]:
    return [
        (e.method, e.path)
        for e in sandbox.journal.query(since=since, limit=100_000)
        if e.method in MUTATING
    ]


async def _edit_as_owner(control: Control, repo: str) -> int:
    """An org owner edits a file on the default branch (bypassing review), as on github.com."""
    path = f"/_sandbox/github/repos/demo-university/{repo}/contents/notes.md"
    body = {"login": "demo-admin", "content": "end of term notes\n"}
    async with control.http.post(f"{control.base_url}{path}", json=body) as response:
        return response.status


def _posting(server: Server, people: dict[str, str]) -> dict[tuple[str, str], bool]:
    pairs = [
        ("bob", "general"),
        ("bob", "lab-01"),
        ("alan", "lab-02"),
        ("ada", "general"),
        ("grace", "lab-03"),
    ]
    return {(who, ch): server.can(people[who], ch, SEND_MESSAGES) for who, ch in pairs}


async def test_archive_then_unarchive_reverses_exactly(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """Archived: every repository read-only (a push is refused), students cannot post in the
    course or lab channels but still read them, staff post, invites revoked, roles kept, the
    course refuses changes, and a re-run writes nothing. Unarchived: everything as before."""
    course_id, guild, data = await provision_lab_on_discord(product, control, people)
    spec = parse_course(data)
    before = _posting(check_discord(discord_world(sandbox), guild, spec), people)
    assert before == dict.fromkeys(before, True)

    preview = await product.courses.archive_preview(course_id)
    kinds = {(r.kind, r.change) for r in preview.resources}
    assert ("github.repo", "changed") in kinds
    assert ("discord.invite", "removed") in kinds
    outcome = await product.courses.archive(course_id, actor="e2e")
    assert outcome.course.archived_at is not None
    assert "discord.invite:lab-01" in outcome.retired
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}

    github = github_state(sandbox)
    assert {r.name: r.archived for r in github.repos.values() if r.name.startswith(SLUG)} == (
        dict.fromkeys(REPOS, True)
    )
    assert await _edit_as_owner(control, f"{SLUG}-lab-01") == 403
    world = discord_world(sandbox)
    guild_state = world.guilds[int(guild)]
    assert [i for i in world.invites.values() if i.guild_id == guild_state.id] == []
    roles = {r.name for r in guild_state.roles.values()}
    assert {"Instructor", "TA", "Student", "Lab 01", "Lab 02", "Lab 03"} <= roles
    channels = {c.name: c for c in guild_state.channels.values()}
    server = Server(guild_state, {}, channels["CS201"], channels, {})
    assert _posting(server, people) == {
        ("bob", "general"): False,
        ("bob", "lab-01"): False,
        ("alan", "lab-02"): False,
        ("ada", "general"): True,
        ("grace", "lab-03"): True,
    }
    assert server.can(people["bob"], "lab-01", VIEW_CHANNEL)
    assert not server.can(people["bob"], "lab-02", VIEW_CHANNEL)
    with pytest.raises(CourseArchivedError):
        await product.courses.update(course_id, parse_course({**data, "title": "x"}), "e2e")

    cursor = journal_cursor(sandbox)
    await back_to_pending(product.sessions)
    await product.run()
    assert _writes(sandbox, cursor) == []
    again = await product.courses.archive(course_id, actor="e2e")
    assert (again.changed, again.retired) == ([], [])

    back = await product.courses.unarchive(course_id, actor="e2e")
    assert back.course.archived_at is None
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}
    check_github(github_state(sandbox), spec)
    restored = check_discord(discord_world(sandbox), guild, spec)
    assert _posting(restored, people) == before
    assert await _edit_as_owner(control, f"{SLUG}-lab-01") == 201
