"""Stopping: what each shutdown phase took, counted from the signal.

`PhasedExitStack` is the `AsyncExitStack` the product is built on: every callback pushed on
it (by `bot.build` and `bot.app`) logs, when it has run, how long it took and how long after
the signal it ended ("stopped Client.close in 12 ms, +0.141 s after the signal"). An operator
whose Ctrl+C is slow reads which part held it, and the stop test compares the process's exit
with the product's own last phase.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class StopClock:
    """When the stop began: the first signal, or the first phase if it came without one."""

    def __init__(self) -> None:
        self.began: float | None = None

    def signalled(self) -> None:
        if self.began is None:
            self.began = time.monotonic()

    def since(self) -> float:
        self.signalled()
        assert self.began is not None
        return time.monotonic() - self.began

    def log(self, what: str, took_s: float) -> None:
        log.info(
            "stopped %s in %d ms, +%.3f s after the signal",
            what,
            round(took_s * 1000),
            self.since(),
        )


def _name(callback: Callable[..., Any]) -> str:
    return str(getattr(callback, "__qualname__", None) or repr(callback))


class PhasedExitStack(AsyncExitStack):
    """An `AsyncExitStack` whose callbacks log their time on `clock` when they unwind."""

    def __init__(self, clock: StopClock) -> None:
        super().__init__()
        self.clock = clock

    async def enter_async_context(self, cm: AbstractAsyncContextManager[T]) -> T:
        return await super().enter_async_context(_Timed(cm, self.clock))

    def push_async_callback(
        self, callback: Callable[P, Awaitable[T]], /, *args: P.args, **kwds: P.kwargs
    ) -> Callable[P, Awaitable[T]]:
        clock, what = self.clock, _name(callback)

        async def timed() -> T:
            start = time.monotonic()
            try:
                return await callback(*args, **kwds)
            finally:
                clock.log(what, time.monotonic() - start)

        super().push_async_callback(timed)
        return callback

    def callback(
        self, callback: Callable[P, T], /, *args: P.args, **kwds: P.kwargs
    ) -> Callable[P, T]:
        clock, what = self.clock, _name(callback)

        def timed() -> T:
            start = time.monotonic()
            try:
                return callback(*args, **kwds)
            finally:
                clock.log(what, time.monotonic() - start)

        super().callback(timed)
        return callback


class _Timed(AbstractAsyncContextManager[T]):
    """`cm`, its exit timed on `clock` (the embedded sandbox saving its world, for one)."""

    def __init__(self, cm: AbstractAsyncContextManager[T], clock: StopClock) -> None:
        self._cm, self._clock = cm, clock

    async def __aenter__(self) -> T:
        return await self._cm.__aenter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        start = time.monotonic()
        try:
            return await self._cm.__aexit__(kind, error, traceback)
        finally:
            self._clock.log(type(self._cm).__qualname__, time.monotonic() - start)
