"""How many servers the bot is in, against the cap of unverified Discord apps.

An unverified app joins at most 100 servers; verified apps have no maximum (PLATFORM.md §1.2).
Each course needs the bot in a server of its own, so a department reaches the cap by running
courses: at `WARN_AT` the product warns (course status, the course log, `/metrics`), and at the
cap the `discord.server` step waits with `CAP_REASON` and says why and what to do, until the
count is below the cap again (`provisioning.discord.server_watch` re-checks on a schedule).
"""

from __future__ import annotations

from dataclasses import dataclass

UNVERIFIED_LIMIT = 100
WARN_AT = 90
# The `discord.server` step's waiting reason while the bot cannot join another server.
CAP_REASON = "discord.server_cap"

_VERIFY = "verify the app in the Discord Developer Portal (verified apps have no maximum)"
_FREE = "archive old courses and remove the bot from their servers (kick it there)"
_WHAT_TO_DO = f"{_VERIFY}, or {_FREE}"


@dataclass(frozen=True)
class ServerCount:
    """The bot's server count and how many it may be in (`limit` None: verified, no maximum)."""

    count: int
    limit: int | None

    @classmethod
    def of(cls, count: int, *, verified: bool) -> ServerCount:
        return cls(count, None if verified else UNVERIFIED_LIMIT)

    @property
    def near_cap(self) -> bool:
        """At `WARN_AT` servers or more, with a cap."""
        return self.limit is not None and self.count >= min(WARN_AT, self.limit)

    @property
    def at_cap(self) -> bool:
        """The bot cannot be added to another server."""
        return self.limit is not None and self.count >= self.limit


def warning(servers: ServerCount) -> str | None:
    """What a course status says about the bot's server count: None below `WARN_AT`."""
    if not servers.near_cap:
        return None
    if servers.at_cap:
        return (
            f"The bot is in {servers.count} servers, and unverified Discord apps stop at "
            f"{servers.limit}: it cannot be added to another course's server. To go on, "
            f"{_WHAT_TO_DO}; courses waiting for their server then go on by themselves."
        )
    left = (servers.limit or 0) - servers.count
    more = "1 more course server" if left == 1 else f"{left} more course servers"
    return (
        f"The bot is in {servers.count} of the {servers.limit} servers an unverified Discord app "
        f"may join: {more} can be claimed. Before it stops, {_WHAT_TO_DO}."
    )


def cap_reached(servers: ServerCount) -> str:
    """Why a course's server step waits at the cap, and what to do."""
    return (
        f"The bot is in {servers.count} servers, and unverified Discord apps stop at "
        f"{servers.limit}: it cannot be added to this course's server. To go on, {_WHAT_TO_DO}. "
        f"This step goes on by itself once the bot is in fewer than {servers.limit} servers."
    )


# Why a course's server step waits at the cap, when its own words (`cap_reached`) are not at hand.
CAP_WAIT = (
    "The bot is at the cap of servers an unverified Discord app may join: it cannot be added to "
    f"this course's server. To go on, {_WHAT_TO_DO}. The course goes on by itself once the bot "
    "is in fewer servers."
)


def claim_notice(servers: ServerCount) -> str | None:
    """What the answer to `/course claim` adds about the count: None below `WARN_AT`."""
    if not servers.at_cap:
        return warning(servers)
    return (
        f"The bot is now in {servers.count} servers, and unverified Discord apps stop at "
        f"{servers.limit}: no other course can add it to its server until you {_VERIFY}, or "
        f"{_FREE}. Courses waiting for their server then go on by themselves."
    )
