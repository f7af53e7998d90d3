from __future__ import annotations

from hashlib import sha256

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.courses.spec import RESERVED_GROUP_NAMES, CourseSpec, parse_course
from provisioning.errors import CourseValidationError
from provisioning.plan import plan_course, plan_digest, plan_json
from tests.provisioning.examples import lab_course, lecture_course


def keys(spec: CourseSpec) -> list[str]:
    return [step.key for step in plan_course(spec)]


def test_lecture_plan_table() -> None:
    """A lecture course plans exactly these steps, in this order."""
    assert keys(parse_course(lecture_course())) == [
        "github.team:instructors",
        "github.team:tas",
        "github.team:students",
        "github.invite:instructors:ada",
        "github.invite:tas:grace",
        "github.invite:students:bob-b",
        "github.invite:students:carol-c",
        "github.invite:students:dave-d",
        "github.repo:lecture",
        "github.seed:lecture",
        "github.protection:lecture",
        "github.access:lecture:instructors",
        "github.access:lecture:tas",
        "github.access:lecture:students",
        "discord.server",
        "discord.settings",
        "discord.role:instructor",
        "discord.role:ta",
        "discord.role:student",
        "discord.role-order",
        "discord.category:course",
        "discord.channel:announcements",
        "discord.channel:general",
        "discord.channel:lectures",
        "discord.channel:qa-help",
        "discord.invite:students",
        "discord.member-role:80351110224678912",
        "discord.student-roles:80351110224678913",
        "email.join:bob@example.edu",
    ]


def test_a_student_known_on_discord_keeps_the_roles_of_their_group() -> None:
    """A lab student with a Discord id gets a step ensuring the Student and group roles, which
    depends on both role steps; a move to another group changes only its params and roles."""
    data = lab_course(groups=2)
    data["students"][0]["discord_id"] = "80351110224678999"
    group = data["students"][0]["group"]
    step = {s.key: s for s in plan_course(parse_course(data))}[
        "discord.student-roles:80351110224678999"
    ]
    assert step.kind == "discord.student-roles"
    assert step.depends_on == ("discord.role:student", f"discord.role:{group}")
    assert step.params == {
        "user_id": "80351110224678999",
        "roles": ["discord.role:student", f"discord.role:{group}"],
    }


def test_lab_plan_table() -> None:
    """A laboratory course with 3 groups adds a team, repo, role, channel and invite each."""
    plan = {s.key: s for s in plan_course(parse_course(lab_course(groups=3)))}
    for group in ("lab-01", "lab-02", "lab-03"):
        for prefix in (
            "github.team",
            "github.repo",
            "github.seed",
            "github.protection",
            "discord.role",
            "discord.channel",
            "discord.invite",
        ):
            assert f"{prefix}:{group}" in plan
        assert plan[f"github.access:{group}:{group}"].params["permission"] == "push"
        assert plan[f"github.team:{group}"].params["parent"] == "github.team:students"
    assert plan["github.repo:lab-02"].params["name"] == "cs201-2027-fall-lab-02"
    assert plan["discord.channel:lab-02"].params["parent"] == "discord.category:labs-1"
    assert plan["discord.invite:lab-02"].params["roles"] == [
        "discord.role:student",
        "discord.role:lab-02",
    ]
    assert plan["discord.settings"].params["name"] == "CS201 · Systems Lab · 2027-fall"
    # 6 teams, 8 memberships, 4 repos x (repo, seed, protection, 3 accesses) = 38 on GitHub;
    # server, settings, 6 roles, order, 2 categories, 7 channels, 4 invites, 1 staff role.
    assert len(plan) == 38 + 23


def test_lab_channels_are_private() -> None:
    """A lab channel denies @everyone and allows its group, the staff and the bot."""
    plan = {s.key: s for s in plan_course(parse_course(lab_course()))}
    targets = {o["target"]: o for o in plan["discord.channel:lab-01"].params["overwrites"]}
    assert targets["@everyone"]["deny"] == 1024
    assert targets["discord.role:lab-01"]["allow"] == 117760
    assert targets["discord.role:instructor"]["allow"] == 125952
    assert targets["@bot"]["allow"] == 68624
    assert "discord.role:student" not in targets


def test_many_groups_use_several_lab_categories() -> None:
    """Discord allows 50 channels per category, so group 51 opens a second one."""
    plan = {s.key: s for s in plan_course(parse_course(lab_course(groups=51)))}
    assert plan["discord.channel:lab-50"].params["parent"] == "discord.category:labs-1"
    assert plan["discord.channel:lab-51"].params["parent"] == "discord.category:labs-2"


def test_dependencies_come_first_and_keys_are_unique() -> None:
    """Every dependency is an earlier step of the same plan."""
    seen: set[str] = set()
    for step in plan_course(parse_course(lab_course())):
        assert step.key not in seen
        assert set(step.depends_on) <= seen
        seen.add(step.key)


logins = st.from_regex(r"\A[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,10}\Z")


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.from_regex(r"\Alab-[0-9]{2}\Z"), min_size=1, max_size=6, unique=True),
    student_logins=st.lists(logins, max_size=12, unique=True),
    data=st.data(),
)
def test_plan_is_a_pure_function(
    groups: list[str], student_logins: list[str], data: st.DataObject
) -> None:
    """The same description, parsed twice, gives a byte-identical plan and digest; the digest
    is the sha256 of the plan's JSON (as stored with every course), though hashed by parts."""
    course = lab_course(groups=0)
    course["groups"] = groups
    course["students"] = [
        {"name": f"S {login}", "github": f"x{login}", "group": data.draw(st.sampled_from(groups))}
        for login in student_logins
    ]
    first, second = parse_course(course), parse_course(course)
    assert plan_json(plan_course(first)) == plan_json(plan_course(second))
    assert plan_digest(plan_course(first)) == plan_digest(plan_course(second))
    assert plan_digest(plan_course(first)) == sha256(plan_json(plan_course(first))).hexdigest()
    assert len({s.key for s in plan_course(first)}) == len(plan_course(first))


@settings(max_examples=80, deadline=None)
@given(
    groups=st.lists(
        st.one_of(
            st.sampled_from(sorted(RESERVED_GROUP_NAMES)),
            st.from_regex(r"\A[a-z]{1,12}(-[a-z0-9]{1,3})?\Z"),
        ),
        max_size=8,
    )
)
def test_any_accepted_course_plans_unique_keys(groups: list[str]) -> None:
    """Whatever group names validation lets through, the plan never repeats a step key."""
    course = lab_course(groups=0)
    course["groups"] = groups
    course["students"] = [{"name": "S", "github": "solo-student", "group": g} for g in groups[:1]]
    try:
        spec = parse_course(course)
    except CourseValidationError:
        return
    keys = [step.key for step in plan_course(spec)]
    assert len(keys) == len(set(keys))
