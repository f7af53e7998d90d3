"""Which course-log milestones a course has reached, from its steps' states."""

from __future__ import annotations

from provisioning.courses.milestones import reached
from provisioning.discord.server_count import CAP_REASON

WAITING = "awaiting_action"


def test_an_unclaimed_server_waits_for_its_claim_or_for_the_cap() -> None:
    """An unclaimed server step waiting for its claim is "waiting for its server"; waiting
    because the bot is at the server cap it is "waiting for the cap" instead (no claim asked
    for); a claimed server is neither."""
    github_done = ["succeeded", "succeeded"]
    claim = reached([*github_done, WAITING], False, WAITING, "discord.claim")
    cap = reached([*github_done, WAITING], False, WAITING, CAP_REASON)
    assert claim == ["created", "waiting_for_server"]
    assert cap == ["created", "waiting_for_cap"]
    claimed = reached([*github_done, "succeeded"], True, "succeeded", CAP_REASON)
    assert claimed == ["created", "claimed", "done"]
