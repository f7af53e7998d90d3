"""What only a person can fix waits for them, says what to do, and a retry finishes the course."""

from __future__ import annotations

from typing import Any

from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import Control, Product, discord_world, github_state, lecture

TYPO, LOGIN = "erin-typo", "erin-e"


def fixed_roster(data: dict[str, Any]) -> dict[str, Any]:
    """The description with the mistyped login corrected, as an instructor would send it."""
    students = [{**s, "github": LOGIN} if s["github"] == TYPO else s for s in data["students"]]
    return {**data, "students": students}


async def test_plan_login_and_role_hierarchy_wait_for_a_person_then_retry_completes(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """Free plan, unknown login, bot role too low: three waits with their reasons, the rest
    done; the login is fixed by updating the course's roster (the waiting invite is replaced),
    the others outside the product, and `CourseService.retry` completes the course."""
    data = lecture(people["ada"], people["grace"], github_org="demo-free")
    data["students"].append({"name": "Erin Example", "github": TYPO})
    spec = parse_course(data)
    await control.github_users([LOGIN])
    course_id = await product.create(data)
    await product.run()

    guild = await control.server_with_bot(spec)
    await control.join(guild, "grace")
    await product.claim(course_id, guild, people["ada"])
    roles = ["discord.role:instructor", "discord.role:ta", "discord.role:student"]
    for _ in range(10):
        await product.runner.run_once()
        states = await product.states(course_id)
        if all(states[key] == "succeeded" for key in roles):
            break
    assert states["discord.role-order"] == "pending"
    # The owner drags the bot's role to the bottom before the roles are put in order.
    await control.call("POST", f"/discord/guilds/{guild}/bot-role", json={"position": 1})
    await product.run()

    status = await product.courses.status(course_id)
    waiting = {s.key: s for s in status.steps if s.state == "awaiting_action"}
    invite_key = f"github.invite:students:{TYPO}"
    hierarchy = {
        "discord.role-order",
        "discord.invite:students",
        f"discord.member-role:{people['ada']}",
        f"discord.member-role:{people['grace']}",
    }
    assert set(waiting) == {"github.protection:lecture", invite_key, *hierarchy}
    assert {s.state for s in status.steps if s.key not in waiting} == {"succeeded"}
    plan = waiting["github.protection:lecture"]
    assert plan.last_error_code == "github.plan"
    assert "demo-free" in (plan.action_hint or "")
    assert "Upgrade demo-free to GitHub Team" in (plan.action_hint or "")
    unknown = waiting[invite_key]
    assert unknown.last_error_code == "github.unknown_login"
    assert f"GitHub has no user '{TYPO}' (listed for Erin Example)" in (unknown.action_hint or "")
    assert "roster" in (unknown.action_hint or "")
    for key in hierarchy:
        assert waiting[key].last_error_code == "discord.role_hierarchy", key
        assert "drag the bot's role above" in (waiting[key].action_hint or ""), key

    await control.call("PUT", "/github/orgs/demo-free/plan", json={"plan": "team"})
    fixed = parse_course(fixed_roster(data))
    change = await product.courses.update(course_id, fixed, actor="e2e")
    assert change.removed == [invite_key]
    assert change.added == [f"github.invite:students:{LOGIN}"]
    await control.call("POST", f"/discord/guilds/{guild}/bot-role", json={"position": 99})
    outcome = await product.courses.retry(course_id, actor="e2e")
    assert set(outcome.retried) == set(waiting) - {invite_key}
    await product.run()

    assert set((await product.states(course_id)).values()) == {"succeeded"}
    check_github(github_state(sandbox), fixed)
    check_discord(discord_world(sandbox), guild, fixed)
