"""A provisioned laboratory changes: a student dropped, one moved, a group removed. The
platforms end up matching the new description exactly, nothing is deleted, and a re-run (or
a retry) writes nothing and never brings anyone back."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning.courses.change_preview import ConfirmationRequiredError
from provisioning.courses.spec import parse_course
from provisioning.plan import role_name
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
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


def _writes(sandbox: SandboxServer, since: int) -> list[tuple[str, str]]:
    return [
        (e.method, e.path)
        for e in sandbox.journal.query(since=since, limit=100_000)
        if e.method in MUTATING
    ]


def _changed(data: dict[str, Any]) -> dict[str, Any]:
    """s-1-1 (bob) dropped; s-2-1 (alan) moved lab-02 → lab-01; lab-03 removed: s-3-1
    (barbara) moved to lab-02, s-3-2 dropped."""
    students = {s["github"]: dict(s) for s in data["students"]}
    del students["s-1-1"], students["s-3-2"]
    students["s-2-1"]["group"] = "lab-01"
    students["s-3-1"]["group"] = "lab-02"
    return {**data, "groups": ["lab-01", "lab-02"], "students": list(students.values())}


async def test_drop_move_and_group_removal_match_the_new_description_exactly(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """After the confirmed change, GitHub teams and repositories and Discord roles, channels
    and invites are exactly what the new description wants; lab-03's repository is archived,
    not deleted, its channel hidden from students and kept for staff, its invite revoked; a
    full re-run and a retry write nothing and re-invite nobody."""
    course_id, guild, data = await provision_lab_on_discord(product, control, people)
    new = parse_course(_changed(data))

    preview = await product.courses.preview(course_id, new)
    assert preview.confirmation_needed
    assert preview.people.students_dropped == ["s-1-1", "s-3-2"]
    assert preview.people.students_moved == ["s-2-1", "s-3-1"]
    assert preview.people.groups_removed == ["lab-03"]
    assert preview.repositories_archived == [f"{SLUG}-lab-03"]
    with pytest.raises(ConfirmationRequiredError):
        await product.courses.update(course_id, new, actor="e2e")
    assert (await product.courses.get(course_id)).spec == parse_course(data)

    cursor = journal_cursor(sandbox)
    change = await product.courses.update(
        course_id, new, actor="e2e", confirm_removals=preview.removals
    )
    assert len(change.retired) == preview.removals
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}

    writes = _writes(sandbox, cursor)
    assert not [w for w in writes if w[0] == "DELETE" and "/repos/" in w[1]], writes
    assert ("PATCH", f"/api/v3/repos/demo-university/{SLUG}-lab-03") in writes
    github = github_state(sandbox)
    check_github(github, new, removed_groups=["lab-03"])
    # The dropped students were invited to the organization by this course and are in no
    # other course: their invitations are cancelled; the moved students keep theirs.
    invited = {i.login.lower() for i in github.org_invitations.values()}
    assert not invited & {"s-1-1", "s-3-2"}
    assert {"s-2-1", "s-3-1"} <= invited
    server = check_discord(discord_world(sandbox), guild, new, removed_groups=["lab-03"])
    members = server.guild.members
    course_roles = set(server.roles.values()) - {server.guild.id}

    def roles_of(who: str) -> set[str]:
        held = set(members[int(people[who])].roles) & course_roles
        return {name for name, role_id in server.roles.items() if role_id in held}

    assert roles_of("bob") == set()
    assert roles_of("alan") == {"Student", role_name("lab-01")}
    assert roles_of("barbara") == {"Student", role_name("lab-02")}
    assert not server.can(people["bob"], "lab-01")
    assert server.can(people["alan"], "lab-01")
    assert not server.can(people["alan"], "lab-02")
    assert server.can(people["barbara"], "lab-02")
    assert not server.can(people["barbara"], "lab-03")
    assert server.can(people["ada"], "lab-03")
    assert server.can(people["grace"], "lab-03")

    cursor = journal_cursor(sandbox)
    await back_to_pending(product.sessions)
    await product.run()
    assert _writes(sandbox, cursor) == []
    check_github(github_state(sandbox), new, removed_groups=["lab-03"])
