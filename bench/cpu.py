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
