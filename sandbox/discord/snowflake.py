"""Snowflake ids that look like Discord's (timestamp | worker | process | increment)."""

from __future__ import annotations

from typing import Any

DISCORD_EPOCH_MS = 1420070400000
MAX_SNOWFLAKE = (1 << 63) - 1


class SnowflakeGen:
    """Makes unique, time-ordered ids from a wall-clock time in seconds."""

    def __init__(self, worker: int = 1, process: int = 0) -> None:
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._increment = 0
        self._last = 0

    def next(self, now: float) -> int:
        """A new id for time `now`, strictly greater than any id made before."""
        ms = max(int(now * 1000) - DISCORD_EPOCH_MS, 0)
        self._increment = (self._increment + 1) & 0xFFF
        value = (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment
        # A frozen fake clock must still give distinct, increasing ids.
        value = max(value, self._last + 1)
        self._last = value
        return value

    def observe(self, value: int) -> None:
        """Make sure later ids sort after `value` (after a restore)."""
        self._last = max(self._last, value)


def parse_snowflake(value: Any) -> int | None:
    """The id in `value` (str of digits or int), or None when it is not a valid snowflake."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_SNOWFLAKE else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        number = int(value)
        return number if number <= MAX_SNOWFLAKE else None
    return None


def timestamp_of(snowflake: int) -> float:
    """Seconds since the Unix epoch encoded in `snowflake`."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000.0
