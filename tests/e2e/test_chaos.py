"""Faults on every mutating endpoint of both platforms: the courses still converge, with one
of every resource, and the audit log matches the sandbox's request journal one to one."""

from __future__ import annotations

from collections import Counter
from typing import Any

from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import (
    MUTATING,
    Control,
    audit_rows,
    discord_world,
    github_state,
    http_audit,
    journal_requests,
    open_product,
    provision_both,
)

PROBABILITY = 0.05
# PyGithub's read timeout in this test; GitHub "timeouts" hang longer than that.
GITHUB_TIMEOUT_S = 1
FAULT_KINDS = {"status", "apply_then_fail", "rate_limit", "reset", "timeout"}


def chaos_rules() -> list[dict[str, Any]]:
    """Seeded, bounded faults of every kind on every mutating method of both platforms.

    Discord 5xx are 503s, which discord.py does not re-send; its own re-send of 500/502 (after
    a 1 s sleep) gets two rules of one fault each, first in the list so they get their chance.
    """
    rules: list[dict[str, Any]] = [
        {"platform": "discord", "method": "POST", "kind": "apply_then_fail", "status": 502},
        {"platform": "discord", "method": "POST", "kind": "status", "status": 500},
    ]
    for rule in rules:
        rule.update(count=1, probability=0.2)
    for method in sorted(MUTATING):
        for platform in ("github", "discord"):
            server_error = 500 if platform == "github" else 503
            applied_error = 502 if platform == "github" else 503
            hang = GITHUB_TIMEOUT_S + 0.5 if platform == "github" else 0.2
            kinds: list[dict[str, Any]] = [
                {"kind": "status", "status": server_error},
                {"kind": "apply_then_fail", "status": applied_error},
                {"kind": "apply_then_fail", "status": 0},
                {"kind": "reset"},
                {"kind": "rate_limit", "retry_after": 0, "status": 429},
                {"kind": "timeout", "delay": hang, "count": 1},
            ]
            if platform == "github":
                # GitHub's secondary limit: a 403 with its wording.
                kinds.append({"kind": "rate_limit", "retry_after": 0, "status": 403})
            for kind in kinds:
                rules.append(
                    {
                        "platform": platform,
                        "method": method,
                        "probability": PROBABILITY,
                        "count": 3,
                        **kind,
                    }
                )
    return rules


async def test_faults_everywhere_still_converge_to_one_of_each(
    database_url: str, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """Both courses complete under 5xx, applied-then-failed, 429/403, resets and timeouts."""
    for rule in chaos_rules():
        await control.fault(**rule)
    policy = RetryPolicy(base_s=0, max_attempts=20)
    async with open_product(
        database_url, sandbox, policy=policy, github_timeout_s=GITHUB_TIMEOUT_S
    ) as product:
        done = await provision_both(product, control, people)
        rows = await audit_rows(product.sessions)

    fired = Counter(
        e.outcome.split("#")[0].removeprefix("fault:")
        for e in sandbox.journal.query(limit=1_000_000)
        if e.outcome.startswith("fault:")
    )
    assert sum(fired.values()) >= 20, fired
    assert set(fired) >= FAULT_KINDS, fired

    state = github_state(sandbox)
    check_github(state, done.lecture)
    check_github(state, done.lab)
    world = discord_world(sandbox)
    check_discord(world, done.lecture_guild, done.lecture)
    check_discord(world, done.lab_guild, done.lab)

    # Stopping the sandbox lets requests still hanging in a fault finish into the journal.
    await sandbox.stop()
    audited, journal = http_audit(rows), journal_requests(sandbox)
    assert audited - journal == Counter(), "audited but never received"
    assert journal - audited == Counter(), "received but never audited"


async def test_a_dropped_discord_put_is_audited_as_two_requests(
    database_url: str, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """A staff role PUT whose connection drops: both requests reach the audit log."""
    await control.fault(
        platform="discord", method="PUT", path="/guilds/*/members/*/roles/*", kind="reset", count=1
    )
    async with open_product(database_url, sandbox) as product:
        await provision_both(product, control, people)
        rows = await audit_rows(product.sessions)
    await sandbox.stop()
    assert http_audit(rows) == journal_requests(sandbox)
