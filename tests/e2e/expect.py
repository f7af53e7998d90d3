"""The definition of done, checked on the sandbox's own state (GitHub and Discord snapshots).

Each check asserts exactly one of every resource a course owns, so the chaos and crash tests
use them as they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from provisioning.courses.spec import CourseSpec
from provisioning.github.seeding import MARKER_TRAILER, blob_sha, render_seed_files
from provisioning.permissions import SEND_MESSAGES, VIEW_CHANNEL
from provisioning.plan import COURSE_CHANNELS, course_slug, role_name
from provisioning.step import MARKER_TOPIC
from sandbox.discord.models import Channel, Guild, World
from sandbox.discord.permissions import channel_permissions, role_key
from sandbox.github.models import GitHubState, Repo

SEED_PATHS = {
    "README.md",
    "syllabus.md",
    "CONTRIBUTING.md",
    ".github/pull_request_template.md",
    "assignments/assignment-01.md",
}


# --- GitHub -------------------------------------------------------------------------------------


def repo_files(repo: Repo, tree_sha: str, prefix: str = "") -> dict[str, str]:
    """Path → blob sha of every file under a tree of the repository's object store."""
    tree = repo.objects[tree_sha]
    assert tree.type == "tree"
    files: dict[str, str] = {}
    for entry in tree.entries or []:
        if entry.type == "tree":
            files.update(repo_files(repo, entry.sha, f"{prefix}{entry.name}/"))
        else:
            files[f"{prefix}{entry.name}"] = entry.sha
    return files


def check_repo(state: GitHubState, spec: CourseSpec, name: str, group: str | None) -> Repo:
    """Private, marked, seeded in one commit on top of the initial one, protected."""
    repo = state.repos[f"{spec.github_org}/{name}".lower()]
    assert repo.private, name
    assert MARKER_TOPIC in repo.topics, (name, repo.topics)
    head = repo.objects[repo.refs[f"refs/heads/{repo.default_branch}"]]
    assert head.type == "commit"
    assert MARKER_TRAILER in (head.message or "")
    assert len(head.parents or []) == 1, "the seed is one commit on top of the initial one"
    initial = repo.objects[(head.parents or [])[0]]
    assert initial.parents == [], "exactly one commit after the repository's first"
    files = repo_files(repo, str(head.tree))
    wanted = render_seed_files(spec, repo=name, group=group, branch=repo.default_branch)
    assert set(wanted) == SEED_PATHS
    for path, data in wanted.items():
        assert files.get(path) == blob_sha(data), (name, path)
    protection = repo.protection[repo.default_branch]
    reviews = protection["required_pull_request_reviews"]
    assert reviews["required_approving_review_count"] >= 1
    assert protection["allow_force_pushes"] is False
    assert protection["allow_deletions"] is False
    return repo


def check_github(state: GitHubState, spec: CourseSpec, removed_groups: Sequence[str] = ()) -> None:
    """Repos, teams with their permissions, and a pending membership for every person.

    `removed_groups`: lab groups an earlier description had: their repositories are still there,
    archived, and their teams still have access to them, with no members left.
    """
    org, slug = spec.github_org.lower(), course_slug(spec)
    groups = [*spec.groups, *removed_groups]
    repos = {slug: None, **{f"{slug}-{g}": g for g in groups}}
    ours = sorted(r.name for r in state.repos.values() if r.name.startswith(slug))
    assert ours == sorted(repos)
    for name, group in repos.items():
        repo = check_repo(state, spec, name, group)
        assert repo.archived is (group in removed_groups), name

    teams = [t for t in state.teams.values() if t.org.lower() == org and t.slug.startswith(slug)]
    assert Counter(t.name for t in teams) == Counter(
        f"{slug}-{t}" for t in ("instructors", "tas", "students", *groups)
    )
    by_slug = {t.slug: t for t in teams}
    lecture_repo = f"{org}/{slug}"
    wanted_repos: dict[str, dict[str, str]] = {
        f"{slug}-instructors": {f"{org}/{r}": "admin" for r in repos},
        f"{slug}-tas": {f"{org}/{r}": "maintain" for r in repos},
        f"{slug}-students": {lecture_repo: spec.student_permission},
        **{f"{slug}-{g}": {f"{org}/{slug}-{g}": "push"} for g in groups},
    }
    for team_slug, access in wanted_repos.items():
        assert by_slug[team_slug].repos == access, team_slug

    members: dict[str, dict[str, str]] = {s: {} for s in wanted_repos}
    for person in spec.staff:
        team = f"{slug}-instructors" if person.role == "instructor" else f"{slug}-tas"
        members[team][person.github.lower()] = "maintainer"
    for student in spec.students:
        team = f"{slug}-{student.group}" if student.group else f"{slug}-students"
        members[team][student.github.lower()] = "member"
    invited = {
        (i.login.lower(), team_id)
        for i in state.org_invitations.values()
        if i.org.lower() == org
        for team_id in i.team_ids
    }
    for team_slug, people in members.items():
        found = by_slug[team_slug]
        assert {k: m.role for k, m in found.members.items()} == people, team_slug
        # Nobody but the sandbox's admin is an org member: every membership is an invitation.
        assert {m.state for m in found.members.values()} <= {"pending"}
        assert all((login, found.id) in invited for login in people), team_slug


# --- Discord ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """What a course's server holds, found by name in the sandbox's world."""

    guild: Guild
    roles: dict[str, int]
    category: Channel
    channels: dict[str, Channel]
    invites: dict[str, str]
    """invite code by what it is for: "students" or a lab group."""

    def can(self, user_id: int | str, channel: str, permission: int = VIEW_CHANNEL) -> bool:
        perms = channel_permissions(self.guild, self.channels[channel], int(user_id))
        return perms & permission == permission


def server_name(spec: CourseSpec) -> str:
    return f"{spec.code} · {spec.title} · {spec.term}"


def check_discord(
    world: World, guild_id: str, spec: CourseSpec, removed_groups: Sequence[str] = ()
) -> Server:
    """Name, roles in order under the bot's, channels and overwrites, invites, staff roles.

    `removed_groups`: lab groups an earlier description had: their roles are kept (below the
    course's), their channels kept but seen by staff only, their invites revoked.
    """
    guild = world.guilds[int(guild_id)]
    bot = world.users[world.bot_user_id]
    assert guild.name == server_name(spec)

    course_roles = ["Instructor", "TA", "Student", *(role_name(g) for g in spec.groups)]
    course_roles += [role_name(g) for g in removed_groups]
    ranked = sorted(guild.roles.values(), key=role_key, reverse=True)
    assert [r.name for r in ranked] == [bot.username, *course_roles, "@everyone"], [
        (r.name, r.id, r.position) for r in ranked
    ]
    assert ranked[0].bot_id == bot.id
    roles = {r.name: r.id for r in ranked}

    categories = [c for c in guild.channels.values() if c.type == 4 and c.name == spec.code]
    assert len(categories) == 1
    category = categories[0]
    children = sorted(
        (c for c in guild.channels.values() if c.parent_id == category.id),
        key=lambda c: c.position,
    )
    assert [c.name for c in children] == list(COURSE_CHANNELS), [
        (c.name, c.id, c.position) for c in children
    ]
    channels = {c.name: c for c in children}
    if spec.groups:
        labs = [c for c in guild.channels.values() if c.type == 4 and c.name == "Labs"]
        assert len(labs) == 1
        in_labs = sorted(
            (c for c in guild.channels.values() if c.parent_id == labs[0].id),
            key=lambda c: c.position,
        )
        assert sorted(c.name for c in in_labs) == sorted([*spec.groups, *removed_groups])
        channels.update((c.name, c) for c in in_labs)
    for group in removed_groups:
        hidden = {(o.type, o.id): (o.allow, o.deny) for o in channels[group].overwrites}
        assert (0, roles[role_name(group)]) not in hidden, group
        assert hidden[(0, guild.id)][1] & VIEW_CHANNEL, group
        for staff in ("Instructor", "TA"):
            assert hidden[(0, roles[staff])][0] & VIEW_CHANNEL, (group, staff)
    assert Counter(c.name for c in guild.channels.values() if c.type != 4) == Counter(
        [*channels, "general", "General"]  # and the two the server was created with
    )

    overwrites = channels["announcements"].overwrites
    announcements = {(o.type, o.id): (o.allow, o.deny) for o in overwrites}
    assert announcements[(0, guild.id)] == (0, SEND_MESSAGES)
    for staff in ("Instructor", "TA"):
        assert announcements[(0, roles[staff])][0] & SEND_MESSAGES

    live = [i for i in world.invites.values() if i.guild_id == guild.id]
    wanted = {("students", channels["general"].id, frozenset({roles["Student"]}))}
    for group in spec.groups:
        grants = frozenset({roles["Student"], roles[role_name(group)]})
        wanted.add((group, channels[group].id, grants))
    found = Counter((i.channel_id, frozenset(i.role_ids)) for i in live)
    assert found == Counter((channel, grants) for _, channel, grants in wanted)
    invites = {
        what: next(
            i.code for i in live if (i.channel_id, frozenset(i.role_ids)) == (channel, grants)
        )
        for what, channel, grants in wanted
    }

    for person in spec.staff:
        member = guild.members.get(int(person.discord_id or 0))
        if person.discord_id is None or member is None:
            continue
        role = "Instructor" if person.role == "instructor" else "TA"
        assert roles[role] in member.roles, person.name
    return Server(guild, roles, category, channels, invites)
