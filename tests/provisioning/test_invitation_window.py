"""One organization's invitation window, computed: places in order, the limit learned from a
refusal and kept for a day, a refusal closing the window (on the in-memory window)."""

from __future__ import annotations

from provisioning.github import invitation_window as places
from provisioning.github.invitation_places import MemoryWindow
from provisioning.github.invitation_window import DEFAULT_LIMIT, NEW_ORG_LIMIT

DAY = 100.0
PROBE = 5.0


def window_at(now: float, window: MemoryWindow | None = None) -> MemoryWindow:
    window = window or MemoryWindow()
    window.now = now
    return window


def learned_50() -> MemoryWindow:
    window = MemoryWindow()
    window.limit, window.limit_until = NEW_ORG_LIMIT, 1000.0
    return window


async def test_places_beyond_the_limit_are_a_window_after_the_one_limit_back() -> None:
    """With the limit learned as 50, the 51st place is a day after the first, the 52nd a
    day after the second; a login keeps its place when it asks again."""
    window = learned_50()
    taken = [await places.take(window_at(float(i), window), f"p{i}", DAY) for i in range(52)]
    assert taken[:50] == [float(i) for i in range(50)]
    assert taken[50:] == [DAY + 0.0, DAY + 1.0]
    assert await places.take(window_at(60.0, window), "P51", DAY) == DAY + 1.0
    assert await places.queued_after(window) == 2


async def test_a_place_a_window_old_is_forgotten_and_taken_anew() -> None:
    """A login whose place is a window old gets a new one (its invitation expired or went)."""
    window = learned_50()
    assert await places.take(window_at(0.0, window), "a", DAY) == 0.0
    assert await places.take(window_at(DAY + 3.0, window), "a", DAY) == DAY + 3.0
    assert await places.sent_in_window(window, DAY) == 1


async def test_a_refusal_with_fewer_of_ours_teaches_50_for_a_day_and_gives_up_later() -> None:
    """GitHub refuses the 31st of ours: the limit is 50 from then for a day (500 after), the
    window closes until the probe, and places handed out for later are given up."""
    window = MemoryWindow()
    for i in range(30):
        await places.take(window_at(float(i), window), f"p{i}", DAY)
    await window.add("later", 40.0)  # handed out for later, under the old assumptions
    reopens = await places.refused(window_at(31.0, window), "p30", DAY, PROBE)
    assert reopens == 31.0 + PROBE
    assert places.current_limit(window) == NEW_ORG_LIMIT
    assert places.current_limit(window_at(31.0 + DAY, window)) == DEFAULT_LIMIT
    assert "later" not in window.places()
    assert "p30" not in window.places()
    assert await places.take(window_at(32.0, window), "next", DAY) == 31.0 + PROBE


async def test_a_refusal_with_the_learned_limit_spent_reopens_when_the_oldest_leaves() -> None:
    """50 of ours in the window at the learned 50, refused anyway (someone else's count):
    the window reopens when the oldest of those 50 is a day old, if sooner than the probe."""
    window = learned_50()
    for i in range(50):
        await places.take(window_at(0.0, window), f"p{i}", DAY)
    assert await places.refused(window_at(97.0, window), "x", DAY, PROBE) == DAY
    assert await places.sent_in_window(window, DAY) == 50


async def test_places_sharing_a_time_are_removed_by_login() -> None:
    """Places given at the same time (a closed window reopening) stay apart by login."""
    window = window_at(0.0)
    for login in ("a", "b", "c"):
        await window.add(login, 5.0)
    await places.release(window, "B")
    assert window.places() == {"a": 5.0, "c": 5.0}
    assert await window.count(after=4.0) == 2
    assert await window.latest(2) == 5.0
    assert await window.latest(3) is None


async def test_past_places_are_dropped_so_the_window_stays_small() -> None:
    """A thousand takes over ten windows keep about two windows of places, not all of them."""
    window = MemoryWindow()
    for i in range(1000):
        await places.take(window_at(float(i), window), f"p{i}", DAY)
    assert len(window.places()) <= 2 * DAY + 1
    assert await places.sent_in_window(window, DAY) == DAY
