"""The preview's numbers are what a run really sends: a person is shown the truth before Confirm."""

from __future__ import annotations

from provisioning.courses.preview import preview_course
from sandbox.server import SandboxServer
from tests.e2e.harness import MUTATING, Control, Product, provision_both


async def test_previewed_writes_are_the_writes_a_fresh_run_makes(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    done = await provision_both(product, control, people)
    previews = [preview_course(done.lecture), preview_course(done.lab)]

    journal = sandbox.journal.query(limit=1_000_000)
    github_writes = [e for e in journal if e.platform == "github" and e.method in MUTATING]
    discord_writes = [e for e in journal if e.platform == "discord" and e.method in MUTATING]
    # provision_both makes the servers, adds the bot and claims through the control API, which
    # the journal does not hold: every write in it is the product's.
    assert len(github_writes) == sum(p.github.writes for p in previews)
    # The one conditional write: the role order is PATCHed only when Discord put the new roles
    # out of order, which depends on the order their creations arrived in.
    role_orders = 2
    previewed = sum(p.discord.writes for p in previews)
    assert previewed - role_orders <= len(discord_writes) <= previewed
    lab = previews[1]
    assert lab.resources["repositories"] == 1 + len(done.lab.groups)
    assert lab.resources["channels"] == 4 + len(done.lab.groups)
    assert lab.github_s == lab.github.writes * 1.0
