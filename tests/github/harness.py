"""A hand-built step runner for the GitHub steps, a list audit sink and sandbox helpers.

The real runner is someone else's; here every GitHub step of a plan runs once, in plan order
(dependencies first), with the results of earlier steps and, on a re-run, its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from provisioning.audit_context import AuditContext, HttpExchange, current
from provisioning.clock import SystemClock
from provisioning.courses.spec import CourseSpec
from provisioning.github.gateway import GitHubGateway
from provisioning.github.invitations import InvitationBudget, MemoryInvitationStore
from provisioning.github.steps import executors
from provisioning.plan import PlannedStep, plan_course
from provisioning.step import StepContext, StepResult

MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class ListSink:
    """An `HttpAuditSink` that keeps the rows in memory."""

    rows: list[tuple[HttpExchange, AuditContext]] = field(default_factory=list)

    async def record_http(self, exchange: HttpExchange, context: AuditContext) -> None:
        self.rows.append((exchange, context))


def github_steps(spec: CourseSpec) -> list[PlannedStep]:
    return [s for s in plan_course(spec) if s.kind.startswith("github.")]


def context(
    gateway: GitHubGateway,
    spec: CourseSpec,
    step: PlannedStep,
    results: Mapping[str, StepResult],
    attempt: int = 1,
) -> StepContext:
    own = results.get(step.key)
    return StepContext(
        course_id="course-1",
        spec=spec,
        step=step,
        attempt=attempt,
        external_id=own.external_id if own else None,
        facts=own.facts if own else {},
        dependencies={k: results[k] for k in step.depends_on},
        github=gateway,
        discord=cast(Any, None),
    )


async def run_step(
    gateway: GitHubGateway,
    spec: CourseSpec,
    step: PlannedStep,
    results: dict[str, StepResult],
    attempt: int = 1,
    invitations: InvitationBudget | None = None,
) -> StepResult:
    """Run one step as the runner would: with the audit context set around it. Invitations
    take places from `invitations`, by default a budget of their own (500 a day: no wait)."""
    budget = invitations or InvitationBudget(MemoryInvitationStore(SystemClock()), SystemClock())
    token = current.set(AuditContext("runner", "course-1", step.key, attempt))
    try:
        run = executors(budget)[step.kind]
        result = await run(context(gateway, spec, step, results, attempt))
    finally:
        current.reset(token)
    results[step.key] = result
    return result


async def run_all(
    gateway: GitHubGateway, spec: CourseSpec, results: dict[str, StepResult] | None = None
) -> dict[str, StepResult]:
    results = {} if results is None else results
    for step in github_steps(spec):
        await run_step(gateway, spec, step, results)
    return results
