"""Where the sandbox keeps its world on disk: atomic writes, one owner per file, confined paths.

- `write_atomically`: a temporary file in the same directory, then `os.replace`, so a crash
  mid-write never leaves a truncated world behind (and a reader sees the old or the new one).
- `StateLock`: an exclusive lock file next to the state file, held while the sandbox runs, so a
  second sandbox never overwrites a world another one is using.
- `Autosaver`: saves after changes, at most once per interval, so a crash loses at most the
  last interval (the database keeps the external ids of what the emulators made).
- `confined_path`: paths given to the control API stay inside the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

log = logging.getLogger(__name__)


class SandboxStartError(Exception):
    """The sandbox cannot start; the message is one line saying why and what to do."""


class UnsafePathError(ValueError):
    """A path given to the control API would leave the data directory."""


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` in one step.

    The temporary file has a random name and is created exclusively, so a symlink planted at a
    predictable temporary name cannot redirect the write. No fsync: this guards against the
    process dying, not the machine losing power, and an fsync per save would slow every run.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def secret_file(state_path: Path | None, data_dir: Path, port: int) -> Path:
    """Where a run's secret goes: next to its state file (`data/sandbox.json` →
    `data/sandbox.secret`), whose lock makes it this run's; without one, named by the port, so
    two sandboxes sharing a data directory never overwrite each other's."""
    if state_path is not None:
        return state_path.with_suffix(".secret")
    return data_dir / f"sandbox-{port}.secret"


def write_secret(path: Path, secret: str) -> None:
    """Write this run's control secret where the developer (and scripts) find it, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, secret + "\n", mode=0o600)


def confined_path(data_dir: Path, raw: object, field: str = "path") -> Path:
    """`raw`, a relative `.json` file name, resolved inside `data_dir`; else `UnsafePathError`.

    Absolute paths, `..` and symlinks that lead out of the directory are refused; so are names
    not ending in `.json`, so a save cannot replace the database, the secret or the lock file.
    """
    hint = 'a .json file name inside the sandbox\'s data directory, such as "saved.json"'
    if not isinstance(raw, str) or not raw:
        raise UnsafePathError(f"{field}: expected {hint}")
    if PurePosixPath(raw).is_absolute() or PureWindowsPath(raw).is_absolute() or "\\" in raw:
        raise UnsafePathError(f"{field}: {raw!r} is absolute; give {hint}")
    if ".." in PurePosixPath(raw).parts:
        raise UnsafePathError(f"{field}: {raw!r} leaves the data directory; give {hint}")
    if not raw.endswith(".json"):
        raise UnsafePathError(f"{field}: {raw!r} is not a .json file; give {hint}")
    root = data_dir.resolve()
    target = (root / raw).resolve()
    if not target.is_relative_to(root) or target == root:
        raise UnsafePathError(f"{field}: {raw!r} leads out of the data directory; give {hint}")
    if not target.parent.is_dir():
        raise UnsafePathError(f"{field}: the folder of {raw!r} is not in the data directory")
    return target


class StateLock:
    """An exclusive lock on `<state>.lock`, held from `acquire` to `release`.

    The lock file is left in place when released: removing it could let two later instances
    lock two different files of the same name.
    """

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self, port: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SandboxStartError(
                f"the sandbox world {self.path.with_suffix('')} is in use by {holder}: "
                "stop that sandbox, or give this one another state file"
            ) from None
        self._file = handle
        self.note(port)

    def note(self, port: int) -> None:
        """Record who holds the lock, for the refusal a second instance prints."""
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"process {os.getpid()} (sandbox on port {port})")
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Autosaver:
    """Calls `save` after changes: at once when the last save is older than `interval`
    seconds, else once when the interval has passed; `flush` saves what is pending now."""

    def __init__(self, save: Callable[[], None], interval: float = 1.0) -> None:
        self._save = save
        self.interval = interval
        self._last: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        if self._timer is not None:
            return  # a save is already due; it will include this change
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._last is None or now - self._last >= self.interval:
            self._run()
        else:
            self._timer = loop.call_at(self._last + self.interval, self._run)

    def flush(self) -> None:
        if self._timer is not None:
            self._run()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run(self) -> None:
        self.cancel()
        self._last = asyncio.get_running_loop().time()
        try:
            self._save()
        except OSError:
            # A full disk must not take the sandbox down; the next change tries again.
            log.exception("saving the sandbox world failed")
