"""The GitHub REST emulator (see `GitHubSandbox`)."""

from sandbox.github.emulator import GitHubSandbox

__all__ = ["GitHubSandbox"]
