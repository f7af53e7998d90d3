"""The preview's GitHub time follows the credential's hourly limit, not a fixed 5,000."""

from __future__ import annotations

import math

from provisioning.courses.invitation_notes import OrgInvitations
from provisioning.courses.preview import HOUR_S, preview_course
from provisioning.courses.spec import CourseSpec
from tests.provisioning.examples import lecture_course


def lecture_of(students: int) -> CourseSpec:
    data = lecture_course()
    data["students"] = [
        {"name": f"Student {n}", "github": f"student-{n:05d}"} for n in range(students)
    ]
    return CourseSpec.model_validate(data)


def test_a_big_course_waits_for_the_hours_its_credential_allows() -> None:
    """1,500 students need about 4,500 GitHub calls and 1,500 invitations: under a token's
    5,000 an hour no hour is waited, and the three days of invitations decide the time."""
    spec = lecture_of(1500)
    token = preview_course(spec)
    assert 4000 < token.github.calls <= 5000
    assert token.invitations is not None
    assert token.github_s == token.invitations.days * 24 * HOUR_S


def test_an_hourly_limit_beyond_the_invitations_days_decides() -> None:
    """6,000 students need about 18,000 calls and twelve days of invitations: the time is the
    longer of the hours the credential's limit makes wait and the invitations' days."""
    spec = lecture_of(6000)
    calls = preview_course(spec).github.calls
    assert 17000 < calls <= 19000
    tight = preview_course(spec, github_hourly=20)
    hours = (math.ceil(calls / 20) - 1) * HOUR_S
    assert tight.github_s == hours  # 20 an hour: about 38 days, longer than the invitations
    assert tight.invitations is not None
    assert tight.invitations.days == 12
    assert preview_course(spec, github_hourly=12500).github_s == 12 * 24 * HOUR_S


def test_invitations_over_the_organizations_day_are_said_before_confirm() -> None:
    """A course of 600 students (602 invitations with its staff) on an organization whose
    other courses have 10 queued: 612 invitations, the last about a day after the first; a
    course of 400 says nothing, unless the organization's window is nearly spent."""
    known = OrgInvitations(limit=500, sent=0, queued=10)
    preview = preview_course(lecture_of(600), org_invitations=known)
    assert preview.invitations is not None
    assert preview.invitations.message == (
        "612 invitations to demo-university: GitHub allows 500 a day, "
        "the last about 1 day after the first"
    )
    assert preview_course(lecture_of(400), org_invitations=known).invitations is None
    spent = OrgInvitations(limit=50, sent=45, queued=0)
    small = preview_course(lecture_of(10), org_invitations=spent)
    assert small.invitations is not None
    assert small.invitations.message == (
        "12 invitations to demo-university: GitHub allows 50 a day and 45 went in the last "
        "one, the last about 1 day from now"
    )


def test_a_small_course_is_paced_by_its_writes_alone() -> None:
    """Under any credential's hourly limit, the time is the writes a second apart."""
    spec = lecture_of(3)
    for hourly in (None, 5000, 12500, 15000):
        preview = preview_course(spec, github_hourly=hourly)
        assert preview.github_s == preview.github.writes * 1.0
