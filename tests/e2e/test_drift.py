"""The drift reconcile: what people changed by hand is found, repaired, and reported."""

from __future__ import annotations

from provisioning.courses.reconcile import REPORTED, ReconcileService
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import (
    MUTATING,
    Control,
    Product,
    audit_rows,
    discord_world,
    github_state,
    journal_cursor,
    provision_both,
)


async def test_role_and_team_membership_removed_by_hand_are_repaired_and_reported(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """Grace's TA role and her membership of the TA team are removed by hand; the reconcile
    re-verifies every finished step, puts both back, and the drift report (and the audit log)
    names the two steps and their writes; a second reconcile finds nothing."""
    done = await provision_both(product, control, people)
    grace = people["grace"]
    world = discord_world(sandbox)
    guild = world.guilds[int(done.lab_guild)]
    ta_role = next(r.id for r in guild.roles.values() if r.name == "TA")
    await product.built.discord.remove_member_role(
        done.lab_guild, grace, str(ta_role), reason="a person tidying up"
    )
    await product.built.github.remove_team_membership(
        "demo-university", "cs201-2027-fall-tas", "grace"
    )
    never = await product.built.reconcile.report(done.lab_id)
    assert (never.started_at, never.drifted) == (None, [])

    checked = await product.built.reconcile.start(done.lab_id)
    assert checked == len(await product.states(done.lab_id))
    await product.run()
    report = await product.built.reconcile.finish(done.lab_id)

    assert report.finished
    assert sorted(report.drifted) == [f"discord.member-role:{grace}", "github.invite:tas:grace"]
    assert {(r.step_key, r.method, r.status) for r in report.repairs} == {
        (f"discord.member-role:{grace}", "PUT", 204),
        ("github.invite:tas:grace", "PUT", 200),
    }
    check_github(github_state(sandbox), done.lab)
    check_discord(discord_world(sandbox), done.lab_guild, done.lab)
    events = [e for e in await audit_rows(product.sessions, "event") if e.event == REPORTED]
    assert events[-1].course_id == done.lab_id
    assert events[-1].request_summary is not None
    assert events[-1].request_summary["repaired"] == 2

    cursor = journal_cursor(sandbox)
    await product.built.reconcile.start(done.lab_id)
    await product.run()
    again = await product.built.reconcile.finish(done.lab_id)
    assert (again.drifted, again.repairs) == ([], [])
    assert [e for e in sandbox.journal.query(since=cursor) if e.method in MUTATING] == []


async def test_a_round_reconciles_each_active_course_once_and_skips_archived_ones(
    product: Product, control: Control, people: dict[str, str]
) -> None:
    """`run_round`, the scheduled job: one course after the other (each settled before the
    next starts), the archived course left out."""
    done = await provision_both(product, control, people)
    await product.courses.archive(done.lecture_id, actor="e2e")
    await product.run()

    async def runner_works(_: float) -> None:
        await product.runner.run_until_idle()

    service = ReconcileService(
        product.sessions, product.built.clock, product.runner.wake, sleep=runner_works
    )
    reports = await service.run_round()
    assert [r.course_id for r in reports] == [done.lab_id]
    assert all(r.finished and r.drifted == [] for r in reports)
    assert (await service.report(done.lecture_id)).started_at is None
