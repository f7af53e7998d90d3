"""The plan: a pure function from a course description to its ordered steps.

A step names the resource it ensures by a stable key (`github.repo:lab-03`) and carries every
deterministic name the runner needs. Steps refer to each other's results by key (a channel's
`parent` is the key of its category step); the runner resolves keys to external ids. The same
description always gives a byte-identical plan (`plan_json`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from provisioning import limits
from provisioning.courses.spec import CourseSpec
from provisioning.permissions import (
    BOT_CHANNEL,
    LAB_MEMBER,
    LAB_STAFF,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)

EVERYONE = "@everyone"
BOT = "@bot"
LECTURE = "lecture"
COURSE_CHANNELS = ("announcements", "general", "lectures", "qa-help")
INVITE_MAX_AGE_S = 7 * 24 * 3600
INVITE_MAX_USES_CAP = 100
TEAM_PERMISSIONS = {"instructors": "admin", "tas": "maintain"}


@dataclass(frozen=True)
class PlannedStep:
    """One step of a plan: what to ensure, after which steps, with which names."""

    key: str
    kind: str
    depends_on: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "depends_on": list(self.depends_on),
            "params": self.params,
        }


def course_slug(spec: CourseSpec) -> str:
    """`cs101-2027-spring`: the prefix of every GitHub name of the course."""
    return f"{spec.code.lower()}-{spec.term}"


def repository_names(spec: CourseSpec) -> dict[str, str]:
    """Each repository's name on GitHub by its step's key: the lecture's, then one per group."""
    slug = course_slug(spec)
    return {LECTURE: slug, **{g: f"{slug}-{g}" for g in spec.groups}}


def role_name(group: str) -> str:
    """`lab-03` → `Lab 03`: group roles read like the other role names."""
    words = group.split("-")
    return " ".join([words[0].capitalize(), *words[1:]])


def plan_course(spec: CourseSpec) -> list[PlannedStep]:
    """Every step of the course, dependencies before dependants, in a fixed order."""
    steps = [*_github_steps(spec), *_discord_steps(spec), *_email_steps(spec)]
    keys = [step.key for step in steps]
    if len(set(keys)) != len(keys):
        # parse_course refuses the names that would collide; this guards the plan itself.
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"the plan has duplicate step keys: {duplicates}")
    return steps


def plan_json(steps: list[PlannedStep]) -> bytes:
    """The canonical serialisation of a plan: equal plans give equal bytes."""
    return json.dumps(
        [s.to_json() for s in steps], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def plan_digest(steps: list[PlannedStep]) -> str:
    """A short fingerprint of a plan, stored with the course: the sha256 of `plan_json`.

    Fed a step at a time (the same bytes): one `json.dumps` of a 30,000-step plan holds the
    interpreter for half a second, in which no other thread runs, the event loop's included
    (every runner's claim and lease renewal of the process stops for it); a step's encoding
    takes microseconds.
    """
    digest = hashlib.sha256(b"[")
    for index, step in enumerate(steps):
        if index:
            digest.update(b",")
        digest.update(
            json.dumps(
                step.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        )
    digest.update(b"]")
    return digest.hexdigest()


# --- GitHub -----------------------------------------------------------------------------------


def _github_steps(spec: CourseSpec) -> list[PlannedStep]:
    org, slug = spec.github_org, course_slug(spec)
    steps: list[PlannedStep] = []
    teams = ["instructors", "tas", "students"]
    for team in teams:
        steps.append(_team(org, slug, team, parent=None))
    lab = spec.kind == "laboratory"
    for group in spec.groups:
        # Group teams are children of the students team: their members inherit its access to
        # the lecture repository, so each student needs one membership, not two.
        steps.append(_team(org, slug, group, parent="students"))
    for member in spec.staff:
        team = "instructors" if member.role == "instructor" else "tas"
        steps.append(_membership(org, team, member.github, "maintainer"))
    for student in spec.students:
        team = student.group if lab and student.group else "students"
        steps.append(_membership(org, team, student.github, "member"))
    names = repository_names(spec)
    repos = [(LECTURE, names[LECTURE], spec.student_permission, "students")]
    repos += [(g, names[g], "push", g) for g in spec.groups]
    for repo_key, repo_name, permission, student_team in repos:
        steps += _repository(spec, repo_key, repo_name)
        access = {**TEAM_PERMISSIONS, student_team: permission}
        for team, team_permission in access.items():
            steps.append(
                PlannedStep(
                    key=f"github.access:{repo_key}:{team}",
                    kind="github.access",
                    depends_on=(f"github.repo:{repo_key}", f"github.team:{team}"),
                    params={
                        "org": org,
                        "repo": repo_name,
                        "team": f"{slug}-{team}",
                        "permission": team_permission,
                    },
                )
            )
    return steps


def _team(org: str, slug: str, team: str, parent: str | None) -> PlannedStep:
    params: dict[str, Any] = {"org": org, "name": f"{slug}-{team}", "privacy": "closed"}
    depends: tuple[str, ...] = ()
    if parent is not None:
        params["parent"] = f"github.team:{parent}"
        depends = (f"github.team:{parent}",)
    return PlannedStep(f"github.team:{team}", "github.team", depends, params)


def _membership(org: str, team: str, login: str, role: str) -> PlannedStep:
    return PlannedStep(
        key=f"github.invite:{team}:{login.lower()}",
        kind="github.invite",
        depends_on=(f"github.team:{team}",),
        params={"org": org, "team": f"github.team:{team}", "login": login, "role": role},
    )


def _repository(spec: CourseSpec, repo_key: str, repo_name: str) -> list[PlannedStep]:
    org = spec.github_org
    what = "lecture" if repo_key == LECTURE else f"lab group {repo_key}"
    repo = PlannedStep(
        key=f"github.repo:{repo_key}",
        kind="github.repo",
        params={
            "org": org,
            "name": repo_name,
            "private": True,
            "description": f"{spec.code} {spec.title} ({spec.term}): {what}",
        },
    )
    seed = PlannedStep(
        key=f"github.seed:{repo_key}",
        kind="github.seed",
        depends_on=(repo.key,),
        params={
            # The files are rendered from these details: a change of them changes the params,
            # so a course update sends the seed step back, which proposes the new versions in
            # a pull request (the default branch is written only while the repository is new).
            "inputs": _seed_inputs(spec),
            "org": org,
            "repo": repo_name,
            "template": "lecture" if repo_key == LECTURE else "lab",
            "group": None if repo_key == LECTURE else repo_key,
        },
    )
    protection = PlannedStep(
        key=f"github.protection:{repo_key}",
        kind="github.protection",
        depends_on=(seed.key,),
        params={"org": org, "repo": repo_name, "required_approving_review_count": 1},
    )
    return [repo, seed, protection]


def _seed_inputs(spec: CourseSpec) -> str:
    details = [spec.code, spec.title, spec.term, spec.github_org]
    details += [f"{m.role}:{m.name}:{m.github}" for m in spec.staff]
    return hashlib.sha256("\n".join(details).encode()).hexdigest()[:16]


# --- Discord ----------------------------------------------------------------------------------


def _discord_steps(spec: CourseSpec) -> list[PlannedStep]:
    server = PlannedStep(
        "discord.server",
        "discord.server",
        params={"name": limits.guild_name(spec.code, spec.title, spec.term)},
    )
    settings = PlannedStep(
        "discord.settings", "discord.settings", (server.key,), {"name": server.params["name"]}
    )
    roles = [("instructor", "Instructor", True), ("ta", "TA", True), ("student", "Student", False)]
    roles += [(g, role_name(g), False) for g in spec.groups]
    role_steps = [
        PlannedStep(
            f"discord.role:{key}",
            "discord.role",
            (server.key,),
            {"name": name, "hoist": hoist, "mentionable": True, "permissions": 0},
        )
        for key, name, hoist in roles
    ]
    order = PlannedStep(
        "discord.role-order",
        "discord.role-order",
        tuple(s.key for s in role_steps),
        {"order": [s.key for s in role_steps]},
    )
    steps = [server, settings, *role_steps, order, *_course_channels(spec)]
    steps += _lab_channels(spec)
    steps += _invites(spec)
    for member in spec.staff:
        if member.discord_id is not None:
            role = "discord.role:instructor" if member.role == "instructor" else "discord.role:ta"
            steps.append(
                PlannedStep(
                    f"discord.member-role:{member.discord_id}",
                    "discord.member-role",
                    (role,),
                    {"user_id": member.discord_id, "role": role},
                )
            )
    steps += _student_roles(spec)
    return steps


def _student_roles(spec: CourseSpec) -> list[PlannedStep]:
    """Students known on Discord keep the Student role and their group's role, also after a
    move to another group (the invite they joined with granted the roles of that time)."""
    steps = []
    for student in spec.students:
        if student.discord_id is None:
            continue
        roles = ["discord.role:student"]
        if spec.kind == "laboratory" and student.group:
            roles.append(f"discord.role:{student.group}")
        steps.append(
            PlannedStep(
                f"discord.student-roles:{student.discord_id}",
                "discord.student-roles",
                tuple(roles),
                {"user_id": student.discord_id, "roles": roles},
            )
        )
    return steps


def _overwrite(target: str, allow: int = 0, deny: int = 0) -> dict[str, Any]:
    return {"target": target, "allow": allow, "deny": deny}


def _course_channels(spec: CourseSpec) -> list[PlannedStep]:
    category = PlannedStep(
        "discord.category:course",
        "discord.category",
        ("discord.server",),
        {"name": spec.code, "position": 0, "overwrites": []},
    )
    steps = [category]
    staff_roles = ("discord.role:instructor", "discord.role:ta")
    for position, name in enumerate(COURSE_CHANNELS):
        overwrites: list[dict[str, Any]] = []
        depends: tuple[str, ...] = (category.key,)
        if name == "announcements":
            # Everyone reads, only staff post: deny SEND to @everyone, allow it to staff.
            overwrites = [
                _overwrite(EVERYONE, deny=SEND_MESSAGES),
                *(_overwrite(r, allow=SEND_MESSAGES) for r in staff_roles),
                _overwrite(BOT, allow=BOT_CHANNEL),
            ]
            depends += staff_roles
        steps.append(
            PlannedStep(
                f"discord.channel:{name}",
                "discord.channel",
                depends,
                {
                    "name": name,
                    "parent": category.key,
                    "position": position,
                    "topic": f"{spec.code} {spec.term}: #{name}",
                    "overwrites": overwrites,
                },
            )
        )
    return steps


def _lab_channels(spec: CourseSpec) -> list[PlannedStep]:
    steps: list[PlannedStep] = []
    per = limits.DISCORD_CHANNELS_PER_CATEGORY
    staff_roles = ("discord.role:instructor", "discord.role:ta")
    for index in range(limits.lab_categories_needed(len(spec.groups))):
        category = PlannedStep(
            f"discord.category:labs-{index + 1}",
            "discord.category",
            ("discord.server",),
            {
                "name": "Labs" if index == 0 else f"Labs {index + 1}",
                "position": index + 1,
                "overwrites": [
                    _overwrite(EVERYONE, deny=VIEW_CHANNEL),
                    _overwrite(BOT, allow=BOT_CHANNEL),
                ],
            },
        )
        steps.append(category)
        for position, group in enumerate(spec.groups[index * per : (index + 1) * per]):
            role = f"discord.role:{group}"
            overwrites = [
                _overwrite(EVERYONE, deny=VIEW_CHANNEL),
                _overwrite(role, allow=LAB_MEMBER),
                *(_overwrite(r, allow=LAB_STAFF) for r in staff_roles),
                _overwrite(BOT, allow=BOT_CHANNEL),
            ]
            steps.append(
                PlannedStep(
                    f"discord.channel:{group}",
                    "discord.channel",
                    (category.key, role, *staff_roles),
                    {
                        "name": group,
                        "parent": category.key,
                        "position": position,
                        "topic": f"{spec.code} {spec.term}: lab group {group}",
                        "overwrites": overwrites,
                    },
                )
            )
    return steps


def _invites(spec: CourseSpec) -> list[PlannedStep]:
    student_role = "discord.role:student"
    steps = [
        PlannedStep(
            "discord.invite:students",
            "discord.invite",
            ("discord.channel:general", student_role),
            {
                "channel": "discord.channel:general",
                "roles": [student_role],
                "max_age": INVITE_MAX_AGE_S,
                "max_uses": 0,
            },
        )
    ]
    for group in spec.groups:
        size = sum(1 for s in spec.students if s.group == group)
        role = f"discord.role:{group}"
        steps.append(
            PlannedStep(
                f"discord.invite:{group}",
                "discord.invite",
                (f"discord.channel:{group}", student_role, role),
                {
                    "channel": f"discord.channel:{group}",
                    "roles": [student_role, role],
                    "max_age": INVITE_MAX_AGE_S,
                    "max_uses": min(INVITE_MAX_USES_CAP, max(1, size)),
                },
            )
        )
    return steps


# --- E-mail -----------------------------------------------------------------------------------


def _email_steps(spec: CourseSpec) -> list[PlannedStep]:
    """One join e-mail per person with an address. Keyed by the address, not the GitHub login:
    the join page corrects mistyped logins, and that must not send the person a second mail.
    Nothing waits for these steps, and they wait for nothing: a student whose login is wrong
    gets the mail (and can fix the login) while the GitHub invitation waits for them."""
    people: list[tuple[str, str, str, str | None]] = [
        (m.email, m.name, m.role, None) for m in spec.staff if m.email is not None
    ]
    people += [(s.email, s.name, "student", s.group) for s in spec.students if s.email is not None]
    return [
        PlannedStep(
            f"email.join:{email.lower()}",
            "email.join",
            params={"to": email, "name": name, "role": role, "group": group},
        )
        for email, name, role, group in people
    ]
