"""The GitHub gateway: what the GitHub steps need from GitHub, as a Protocol."""

from __future__ import annotations

from typing import Protocol


class GitHubGateway(Protocol):
    """Async operations on GitHub; implementations raise `PlatformError` on errors."""
