"""What every step executor receives and returns.

An executor ensures one resource: verify the stored id, else find the resource by its
deterministic name and our marker, else create it. It returns the external id (and small facts
later steps or a re-run need); the runner stores them in the same transaction that marks the
step done. It raises `PlatformError` (the runner's retry policy decides), `ActionRequiredError`
(a person must act) or `StepFailedError` (permanent).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioning.courses.spec import CourseSpec
from provisioning.plan import PlannedStep

if TYPE_CHECKING:
    from provisioning.discord.gateway import DiscordGateway
    from provisioning.github.gateway import GitHubGateway

# The marker our resources carry: a repo topic, and the reason of Discord audit-log entries.
MARKER_TOPIC = "course-provisioning-bot"


@dataclass(frozen=True)
class StepResult:
    """What a successful ensure produced: the external id and facts worth keeping."""

    external_id: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepContext:
    """Everything an executor may use; nothing else reaches it."""

    course_id: str
    spec: CourseSpec
    step: PlannedStep
    attempt: int
    # From a previous success of this step (the verify path of ensure); None the first time.
    external_id: str | None
    facts: Mapping[str, Any]
    # External ids and facts of the steps this one depends on, by step key.
    dependencies: Mapping[str, StepResult]
    github: GitHubGateway
    discord: DiscordGateway

    @property
    def params(self) -> dict[str, Any]:
        return self.step.params

    def resolve(self, key: str) -> str:
        """The external id a dependency produced (`discord.category:course` → its id)."""
        return self.dependencies[key].external_id


Executor = Callable[[StepContext], Awaitable[StepResult]]
