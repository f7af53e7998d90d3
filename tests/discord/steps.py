"""A hand-rolled stand-in for the runner: the Discord steps of a plan, in plan order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.discord.gateway import DiscordGateway
from provisioning.discord.steps import executors
from provisioning.github.gateway import GitHubGateway
from provisioning.plan import PlannedStep, plan_course
from provisioning.step import StepContext, StepResult

COURSE_ID = "0b7c5f0e-1111-4222-8333-444455556666"
SECRET = b"k" * 32


def course(users: Mapping[str, str], kind: str = "lecture", groups: int = 0) -> CourseSpec:
    """CS101 with Ada (instructor) and Grace (TA) known on Discord; two or more students."""
    names = [f"lab-{i + 1:02d}" for i in range(groups)]
    ada, grace = users["ada"], users["grace"]
    return parse_course(
        {
            "code": "CS101",
            "title": "Introduction to Programming",
            "term": "2027-spring",
            "kind": kind,
            "github_org": "uni-cs",
            "staff": [
                {"role": "instructor", "name": "Ada", "github": "ada-l", "discord_id": ada},
                {"role": "ta", "name": "Grace", "github": "grace-h", "discord_id": grace},
            ],
            "groups": names,
            "students": [
                {"name": f"S{i}", "github": f"s-{i}", "group": names[i % groups] if names else None}
                for i in range(max(2, groups))
            ],
        }
    )


def discord_steps(spec: CourseSpec) -> list[PlannedStep]:
    return [s for s in plan_course(spec) if s.kind.startswith("discord.")]


def context(
    spec: CourseSpec,
    step: PlannedStep,
    gateway: DiscordGateway,
    done: Mapping[str, StepResult],
    stored: StepResult | None,
) -> StepContext:
    return StepContext(
        course_id=COURSE_ID,
        spec=spec,
        step=step,
        attempt=1,
        external_id=stored.external_id if stored else None,
        facts=stored.facts if stored else {},
        dependencies={key: done[key] for key in step.depends_on},
        github=cast(GitHubGateway, None),
        discord=gateway,
    )


async def run_step(
    spec: CourseSpec,
    key: str,
    gateway: DiscordGateway,
    done: dict[str, StepResult],
) -> StepResult:
    """Run one step as the runner would (stored result in, new result stored)."""
    step = next(s for s in discord_steps(spec) if s.key == key)
    result = await executors()[step.kind](context(spec, step, gateway, done, done.get(key)))
    done[key] = result
    return result


async def run_all(
    spec: CourseSpec,
    gateway: DiscordGateway,
    guild_id: str,
    done: dict[str, StepResult] | None = None,
    until: str | None = None,
) -> dict[str, StepResult]:
    """Every Discord step after a claim of `guild_id`; `done` carries results of a previous run."""
    results: dict[str, StepResult] = dict(done or {})
    results.setdefault("discord.server", StepResult(guild_id, {}))
    for step in discord_steps(spec):
        await run_step(spec, step.key, gateway, results)
        if step.key == until:
            break
    return results


def facts(result: StepResult) -> dict[str, Any]:
    return dict(result.facts)
