"""CPU seconds of this process's threads and of other processes, for the benchmarks.

Read from Linux's `/proc` (`utime` + `stime` of each thread, or of a whole process): a process
shares cores with others, so wall time alone cannot say whether the product spent its time
computing or waiting for a core. Where `/proc` is missing the figures are empty, not wrong.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

_TICK_S = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
_PROC = Path("/proc")


def _stat_cpu(stat: Path) -> float | None:
    try:
        text = stat.read_text()
    except OSError:
        return None
    # The command name (2nd field) is in parentheses and may hold spaces: split after it.
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime (fields 14, 15)


def process_cpu(pid: int) -> float | None:
    """CPU seconds a process has used so far (all its threads), or None."""
    return _stat_cpu(_PROC / str(pid) / "stat")


def _group(name: str) -> str:
    if name == "MainThread":
        return "event loop"
    if name.startswith("pygithub"):
        return "PyGithub threads"
    return "other threads (aiosqlite, executors)"


def threads_cpu() -> Counter[str]:
    """CPU seconds of this process's threads so far, by group (threads that ended are not
    counted: take it while they run)."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    out: Counter[str] = Counter()
    tasks = _PROC / "self" / "task"
    if not tasks.is_dir():
        return out
    for task in tasks.iterdir():
        spent = _stat_cpu(task / "stat")
        if spent is not None:
            out[_group(names.get(int(task.name), "other"))] += spent
    return out


def machine_cpu() -> tuple[float, float] | None:
    """Busy and total CPU seconds of the whole machine so far (all cores), or None."""
    try:
        first = (_PROC / "stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) * _TICK_S, sum(ticks) * _TICK_S


class CpuMeter:
    """CPU seconds of named processes and of the machine between `start` and the last `sample`.

    Sampled while the processes live (a process that exited and was reaped has no `/proc`
    entry: its last sample stands), so a process stopped midway counts up to its stop."""

    def __init__(self) -> None:
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._pids: dict[str, int] = {}
        self._machine_first: tuple[float, float] | None = None
        self._machine_last: tuple[float, float] | None = None

    def watch(self, name: str, pid: int) -> None:
        self._pids[name] = pid

    def sample(self) -> None:
        for name, pid in self._pids.items():
            spent = process_cpu(pid)
            if spent is not None:
                self._first.setdefault(name, spent)
                self._last[name] = spent
        machine = machine_cpu()
        if machine is not None:
            self._machine_first = self._machine_first or machine
            self._machine_last = machine

    def spent(self) -> dict[str, float]:
        """CPU seconds of each watched process between its first and last sample."""
        return {name: self._last[name] - self._first[name] for name in self._first}

    def machine(self) -> tuple[float, float] | None:
        """Busy CPU seconds of the whole machine and the seconds of all cores, same window."""
        if self._machine_first is None or self._machine_last is None:
            return None
        (busy0, total0), (busy1, total1) = self._machine_first, self._machine_last
        return busy1 - busy0, total1 - total0
