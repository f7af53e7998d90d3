"""Times in Discord replies: as Discord's timestamp markup, which each reader's client shows in
their own time zone and language (a reply cannot know the reader's zone, so plain text would
have to say UTC and leave the sum to them)."""

from __future__ import annotations

from datetime import datetime


def discord_time(at: datetime) -> str:
    """`<t:UNIX:f>`: shown as the date and time, e.g. "6 December 2026 09:17" for a reader in
    New York when `at` is 14:17 UTC. Where the markup is not rendered (an embed's title or
    field name, a notification), it shows as is, so use it in descriptions and field values."""
    return f"<t:{int(at.timestamp())}:f>"
