"""One organization's window of GitHub invitations: who has a place in it, and when.

GitHub lets an organization send 500 invitations in any 24 hours, or 50 while it is on the free
plan and under a month old (PLATFORM.md §2.5); the limit is the organization's, whatever
credential sends them. Every invitation the product sends has a *place*: a time, kept under the
invitee's login, no earlier than the window allows. A place may lie in the future: the step
that took it waits for it (pending, due then) and uses it when it comes back, so a queue of
invitations longer than the window is spread over the following days in order, each step woken
once, instead of all of them asking again whenever one place frees.

The product does not know an organization's age, so it starts from 500 and *learns* 50: GitHub
refusing an invitation ("Over invitation rate limit") while the window holds fewer than 500 of
ours says the organization has the smaller limit (or that people or other tools sent the rest).
The learned limit is kept for one window: an organization turns a month old, and one refused
call a day re-teaches a young one. A refusal also closes the window for a while: nothing is
sent before it reopens, and places handed out for later are given up (taken again in order).

Times are seconds on one clock (the database server's on PostgreSQL, monotonic in memory);
this module only computes: the stores (`invitations.py`, `db/invitation_windows.py`) keep it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_LIMIT = 500
NEW_ORG_LIMIT = 50
DAY_S = 24 * 3600.0
# After a refusal the window holds none of ours to wait for (people or other tools sent the
# invitations): ask again after this long, unscaled. One refused call an hour costs nothing.
REFUSED_PROBE_S = 3600.0


@dataclass
class InvitationWindow:
    """The stored state of one organization's invitation window."""

    places: dict[str, float] = field(default_factory=dict)  # login (lowercase) → its place
    limit: int = DEFAULT_LIMIT
    limit_until: float = 0.0  # the learned limit holds until then, then DEFAULT_LIMIT again
    closed_until: float = 0.0  # a refusal: no place before then

    def current_limit(self, now: float) -> int:
        return self.limit if now < self.limit_until else DEFAULT_LIMIT

    def forget_past(self, now: float, window_s: float) -> None:
        """Places older than a window no longer count."""
        self.places = {who: at for who, at in self.places.items() if at > now - window_s}

    def next_free(self, now: float, window_s: float) -> float:
        """The earliest time a new place can have: at most `limit` places in any window, so
        no earlier than a window after the place `limit` back (places are handed out in order)."""
        at = max(now, self.closed_until)
        ordered = sorted(self.places.values())
        limit = self.current_limit(now)
        if len(ordered) >= limit:
            at = max(at, ordered[-limit] + window_s)
        return at

    def take(self, login: str, now: float, window_s: float) -> float:
        """The place of `login`: the one it holds, or the next free one, recorded."""
        self.forget_past(now, window_s)
        key = login.lower()
        held = self.places.get(key)
        if held is not None:
            return held
        at = self.next_free(now, window_s)
        self.places[key] = at
        return at

    def release(self, login: str) -> None:
        """`login`'s invitation was not sent (GitHub refused it, or has no such user)."""
        self.places.pop(login.lower(), None)

    def refused(self, login: str, now: float, window_s: float, probe_s: float) -> float:
        """GitHub refused `login`'s invitation for the limit: learn from it, close the window
        until a place may be free again, and return when that is."""
        self.release(login)
        self.forget_past(now, window_s)
        sent = sorted(at for at in self.places.values() if at <= now)
        if len(sent) < DEFAULT_LIMIT:
            # Fewer of ours than the default: the organization has the smaller limit (or
            # others sent the rest, which waiting as if it had comes to the same), for a day.
            self.limit = NEW_ORG_LIMIT
            self.limit_until = now + window_s
        # Places handed out for later assumed the old limit or an open window: given up, and
        # taken again in order when their steps come back.
        self.places = {who: at for who, at in self.places.items() if at <= now}
        limit = self.current_limit(now)
        reopens = now + probe_s
        if len(sent) >= limit:
            reopens = min(reopens, sent[-limit] + window_s)
        self.closed_until = max(self.closed_until, reopens)
        return self.closed_until

    def queued_after(self, now: float) -> int:
        """Places handed out for later: invitations waiting for the window."""
        return sum(at > now for at in self.places.values())

    def sent_in_window(self, now: float, window_s: float) -> int:
        return sum(now - window_s < at <= now for at in self.places.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "places": dict(self.places),
            "limit": self.limit,
            "limit_until": self.limit_until,
            "closed_until": self.closed_until,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InvitationWindow:
        return cls(
            places={str(k): float(v) for k, v in dict(data.get("places") or {}).items()},
            limit=int(data.get("limit", DEFAULT_LIMIT)),
            limit_until=float(data.get("limit_until", 0.0)),
            closed_until=float(data.get("closed_until", 0.0)),
        )
