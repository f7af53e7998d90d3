"""Why the process cannot start, or stopped: the CLI prints these and exits non-zero."""

from __future__ import annotations


class StartupError(Exception):
    """The product cannot start as configured; the message says how to fix it."""


class PartFailedError(StartupError):
    """A long-running part (the runner, the Discord gateway) ended on its own; the process
    exits non-zero so that its supervisor restarts it."""
