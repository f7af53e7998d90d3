"""The drift reconcile: what people changed by hand is found, repaired, and reported."""

from __future__ import annotations

from provisioning.courses.drift_findings import GITHUB_UNKNOWN
from provisioning.courses.drift_report import REPORTED
from provisioning.courses.reconcile import ReconcileService
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
    """Ada (the server's owner, in the sandbox as a person) takes Grace's TA role away and
    Grace's membership of the TA team is removed; the reconcile re-verifies every finished step,
    puts both back, and the drift report (and the audit log) names the two steps and their
    writes, says Ada took the role (from Discord's audit log) and why GitHub names nobody; a
    second reconcile finds nothing."""
    done = await provision_both(product, control, people)
    grace = people["grace"]
    world = discord_world(sandbox)
    guild = world.guilds[int(done.lab_guild)]
    ta_role = next(r.id for r in guild.roles.values() if r.name == "TA")
    await control.call(
        "DELETE",
        f"/discord/guilds/{done.lab_guild}/members/{grace}/roles/{ta_role}",
        json={"actor": "ada", "reason": "tidying up"},
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
    role_fix = next(r for r in report.repairs if r.step_key.startswith("discord."))
    assert role_fix.finding is not None
    assert role_fix.finding.changed_by == "Ada (@ada)"
    assert role_fix.finding.changed_by_id == people["ada"]
    assert role_fix.finding.changed_at is not None
    assert role_fix.finding.unknown_why is None
    assert role_fix.finding.differed == "the role TA was taken away"
    assert role_fix.finding.repaired == "the role TA given back"
    assert role_fix.finding.resource == "Discord member Grace (@grace)"
    team_fix = next(r for r in report.repairs if r.step_key.startswith("github."))
    assert team_fix.finding is not None
    assert team_fix.finding.changed_by is None
    assert team_fix.finding.unknown_why == GITHUB_UNKNOWN
    assert team_fix.finding.resource == "GitHub team cs201-2027-fall-tas"
    assert team_fix.finding.differed == "grace was no longer a member"
    assert await product.built.reconcile.report(done.lab_id) == report
    check_github(github_state(sandbox), done.lab)
    check_discord(discord_world(sandbox), done.lab_guild, done.lab)
    events = [e for e in await audit_rows(product.sessions, "event") if e.event == REPORTED]
    assert events[-1].course_id == done.lab_id
    assert events[-1].request_summary is not None
    assert events[-1].request_summary["repaired"] == 2
    stored = events[-1].request_summary["findings"]
    assert {f["changed_by"] for f in stored.values()} == {"Ada (@ada)", None}

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
