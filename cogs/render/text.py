"""Discord's size limits, and cutting text to them without losing the end silently."""

from __future__ import annotations

MESSAGE_MAX = 1900  # Discord allows 2000 characters; keep room for a header
FIELD_MAX = 1024
DESCRIPTION_MAX = 4096
TITLE_MAX = 256


def clip(text: str, limit: int) -> str:
    """`text`, or its start and an ellipsis when longer than `limit`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lines_within(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in `limit`, keeping room to say how many were left out."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        left_after = len(lines) - index - 1
        room_for_tail = len(f"\n… and {left_after} more") if left_after else 0
        if used + len(line) + 1 + room_for_tail > limit:
            out.append(f"… and {len(lines) - index} more")
            break
        out.append(line)
        used += len(line) + 1
    return clip("\n".join(out), limit)


def duration(seconds: float) -> str:
    """A duration as a person reads it: "40 s", "3 min", "2 h 5 min"."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
