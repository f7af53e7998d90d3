"""A finished laboratory gains a group and a student: only the difference reaches the platforms."""

from __future__ import annotations

from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import (
    MUTATING,
    Control,
    Product,
    discord_world,
    github_state,
    journal_cursor,
    provision_both,
)


async def test_added_group_is_provisioned_and_nothing_else_is_written_again(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """`CourseService.update` with a fourth lab group and its student: the runner creates the
    group's team, repository, role, channel and invite, re-verifies the role order, and writes
    nothing to the other groups' repositories or teams; the platforms match the new description."""
    done = await provision_both(product, control, people)
    data = done.lab.model_dump(mode="json")
    data["groups"].append("lab-04")
    data["students"].append({"name": "Nora New", "github": "nora-n", "group": "lab-04"})
    await control.github_users(["nora-n"])
    spec = done.lab.model_validate(data)
    cursor = journal_cursor(sandbox)

    change = await product.courses.update(done.lab_id, spec, actor="e2e")
    assert "github.repo:lab-04" in change.added
    assert change.changed == ["discord.role-order"]
    assert change.removed == []
    await product.run()

    assert set((await product.states(done.lab_id)).values()) == {"succeeded"}
    check_github(github_state(sandbox), spec)
    check_discord(discord_world(sandbox), done.lab_guild, spec)
    writes = [
        (e.method, e.path)
        for e in sandbox.journal.query(since=cursor, limit=100_000)
        if e.method in MUTATING
    ]
    assert writes
    for group in ("lab-01", "lab-02", "lab-03"):
        assert not [w for w in writes if group in w[1]], group
