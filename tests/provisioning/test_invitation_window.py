"""One organization's invitation window, computed: places in order, the limit learned from a
refusal and kept for a day, a refusal closing the window."""

from __future__ import annotations

from provisioning.github.invitation_window import (
    DEFAULT_LIMIT,
    NEW_ORG_LIMIT,
    InvitationWindow,
)

DAY = 100.0
PROBE = 5.0


def test_places_beyond_the_limit_are_a_window_after_the_one_limit_back() -> None:
    """With the limit learned as 50, the 51st place is a day after the first, the 52nd a
    day after the second; a login keeps its place when it asks again."""
    window = InvitationWindow(limit=NEW_ORG_LIMIT, limit_until=1000.0)
    places = [window.take(f"p{i}", now=float(i), window_s=DAY) for i in range(52)]
    assert places[:50] == [float(i) for i in range(50)]
    assert places[50:] == [DAY + 0.0, DAY + 1.0]
    assert window.take("P51", now=60.0, window_s=DAY) == DAY + 1.0
    assert window.queued_after(60.0) == 2


def test_a_refusal_with_fewer_of_ours_teaches_50_for_a_day_and_gives_up_later_places() -> None:
    """GitHub refuses the 31st of ours: the limit is 50 from then for a day (500 after), the
    window closes until the probe, and places handed out for later are given up."""
    window = InvitationWindow()
    for i in range(30):
        window.take(f"p{i}", now=float(i), window_s=DAY)
    window.places["later"] = 40.0  # handed out for later, under the old assumptions
    reopens = window.refused("p30", now=31.0, window_s=DAY, probe_s=PROBE)
    assert reopens == 31.0 + PROBE
    assert window.current_limit(31.0) == NEW_ORG_LIMIT
    assert window.current_limit(31.0 + DAY) == DEFAULT_LIMIT
    assert "later" not in window.places
    assert "p30" not in window.places
    assert window.take("next", now=32.0, window_s=DAY) == 31.0 + PROBE


def test_a_refusal_with_the_learned_limit_spent_reopens_when_the_oldest_leaves() -> None:
    """50 of ours in the window at the learned 50, refused anyway (someone else's count):
    the window reopens when the oldest of those 50 is a day old, if sooner than the probe."""
    window = InvitationWindow(limit=NEW_ORG_LIMIT, limit_until=1000.0)
    for i in range(50):
        window.take(f"p{i}", now=0.0, window_s=DAY)
    assert window.refused("x", now=97.0, window_s=DAY, probe_s=PROBE) == DAY
    assert window.sent_in_window(97.0, DAY) == 50


def test_the_window_survives_its_json_form() -> None:
    """The document the database keeps gives back the same window."""
    window = InvitationWindow(places={"a": 1.0}, limit=50, limit_until=9.0, closed_until=3.0)
    assert InvitationWindow.from_json(window.to_json()) == window
    assert InvitationWindow.from_json({}) == InvitationWindow()
