"""A manually driven clock for tests and deterministic demos (implements `Clock`)."""

from __future__ import annotations


class ManualClock:
    """Time that moves only when told to; both readings advance together."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._wall = start
        self._mono = 1000.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both readings forward by `seconds`."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._wall += seconds
        self._mono += seconds
