"""Fixtures for the Discord side: discord.py imported quietly, the sandbox, a guild, a client."""

from __future__ import annotations

import warnings

# discord.py 2.7.1 imports the stdlib `audioop` (voice), deprecated in 3.11; warnings are errors
# here, and that one is not ours to fix. Imported once, before any test module needs it.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401
