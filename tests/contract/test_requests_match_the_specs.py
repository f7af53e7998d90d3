"""Contract: every request our gateways send, and every answer, matches the official schemas.

The GitHub and Discord steps of a 3-group laboratory course run against a real sandbox (see
`scenario.py`); each captured exchange is checked against its operation in the trimmed spec
(`specs.py`, with the documented exceptions of `normalise.py`). A request that does not
validate is a product bug: it is listed in `PRODUCT_BUGS` and its case is a strict xfail.
"""

from __future__ import annotations

import pytest

from tests.contract.capture import NO_BODY, Captured
from tests.contract.scenario import Run
from tests.contract.specs import Operation, errors, operation

GITHUB: list[Operation] = [
    ("github", method, path)
    for method, path in [
        ("GET", "/users/{username}"),
        ("POST", "/orgs/{org}/teams"),
        ("GET", "/orgs/{org}/teams/{team_slug}"),
        ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
        ("PUT", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
        ("DELETE", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
        ("GET", "/orgs/{org}/memberships/{username}"),
        ("DELETE", "/orgs/{org}/memberships/{username}"),
        ("GET", "/orgs/{org}/teams/{team_slug}/repos"),
        ("PUT", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"),
        ("POST", "/orgs/{org}/repos"),
        ("GET", "/repos/{owner}/{repo}"),
        ("PATCH", "/repos/{owner}/{repo}"),
        ("PUT", "/repos/{owner}/{repo}/topics"),
        ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
        ("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
        ("POST", "/repos/{owner}/{repo}/git/trees"),
        ("POST", "/repos/{owner}/{repo}/git/commits"),
        ("POST", "/repos/{owner}/{repo}/git/refs"),
        ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"),
        ("GET", "/repos/{owner}/{repo}/pulls"),
        ("POST", "/repos/{owner}/{repo}/pulls"),
        ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection"),
        ("PUT", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ]
]
DISCORD: list[Operation] = [
    ("discord", method, path)
    for method, path in [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("GET", "/guilds/{guild_id}"),
        ("PATCH", "/guilds/{guild_id}"),
        ("GET", "/guilds/{guild_id}/roles"),
        ("POST", "/guilds/{guild_id}/roles"),
        ("GET", "/guilds/{guild_id}/channels"),
        ("POST", "/guilds/{guild_id}/channels"),
        ("GET", "/guilds/{guild_id}/invites"),
        ("POST", "/channels/{channel_id}/invites"),
        ("GET", "/guilds/{guild_id}/members/{user_id}"),
        ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
        ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
        ("PATCH", "/channels/{channel_id}"),
        ("DELETE", "/invites/{code}"),
    ]
]
EXPECTED = GITHUB + DISCORD
PRODUCT_BUGS: dict[Operation, str] = {}
"""Operations whose requests fail validation because of our code: operation → the reason."""


def _case(op: Operation) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=PRODUCT_BUGS[op])] if op in PRODUCT_BUGS else []
    return pytest.param(op, id=" ".join(op), marks=marks)


def _of(run: Run, op: Operation) -> list[Captured]:
    return [c for c in run.capture.requests if operation(c) == op]


def test_the_course_was_provisioned(course_run: Run) -> None:
    """Both runs finished every step: the requests checked are those of a complete course."""
    outcome = course_run.outcome
    assert {k for k in outcome.github if k.startswith("github.repo:")} == {
        "github.repo:lecture",
        "github.repo:lab-01",
        "github.repo:lab-02",
        "github.repo:lab-03",
    }
    assert "discord.invite:lab-03" in outcome.discord
    assert f"discord.member-role:{outcome.spec.staff[1].discord_id}" in outcome.discord


def test_every_request_goes_to_a_known_operation(course_run: Run) -> None:
    """Each request matches an operation of the official spec, and the run used exactly the
    operations listed here (a new one must be added, and so validated)."""
    unknown = [f"{c.method} {c.path}" for c in course_run.capture.requests if operation(c) is None]
    assert unknown == []
    used = {operation(c) for c in course_run.capture.requests}
    assert used == set(EXPECTED)


@pytest.mark.parametrize("op", [_case(op) for op in EXPECTED])
def test_requests_and_answers_validate(course_run: Run, op: Operation) -> None:
    """Every captured request body and answer of this operation matches the official schemas."""
    captured = _of(course_run, op)
    assert captured, "not exercised"
    problems = [
        f"{c.method} {c.path} {c.status}: {problem}" for c in captured for problem in errors(c)
    ]
    assert problems == []
    if op[1] in ("POST", "PATCH"):
        assert all(c.body is not NO_BODY for c in captured), "a write without a body"


def test_checker_rejects_what_the_specs_forbid() -> None:
    """The checks can fail: wrong types, undeclared keys, stray bodies, unknown paths."""
    team = Captured("github", "POST", "/orgs/o/teams", {}, "", "", {"privacy": "public"}, 422, {})
    assert any(e.startswith("request: privacy") for e in errors(team))
    typo = Captured("github", "POST", "/orgs/o/teams", {}, "", "", {"parent_id": 3}, 422, {})
    assert "request: parent_id: not in the schema" in errors(typo)
    role = Captured("discord", "POST", "/guilds/1/roles", {}, "", "", {"name": 5}, 400, {})
    assert any(e.startswith("request: name") for e in errors(role))
    overwrite = {"name": "x", "permission_overwrites": [{"id": "1", "type": 0, "allowed": "1"}]}
    channel = Captured("discord", "POST", "/guilds/1/channels", {}, "", "", overwrite, 400, {})
    assert "request: permission_overwrites/0/allowed: not in the schema" in errors(channel)
    stray = Captured("discord", "GET", "/guilds/1", {}, "", "", {"x": 1}, 200, NO_BODY)
    assert any("no request schema" in e for e in errors(stray))
    unknown = Captured("github", "GET", "/repositories/5", {}, "", "", NO_BODY, 200, {})
    assert errors(unknown) == ["no operation in the spec for GET /repositories/5"]
