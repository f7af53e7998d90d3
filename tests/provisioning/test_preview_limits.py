"""The preview's GitHub time follows the credential's hourly limit, not a fixed 5,000."""

from __future__ import annotations

import math

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
    """6,000 students need about 12,000 calls: with a token's 5,000 an hour that is two full
    hours of waiting, with an App installation's 12,500 none, so the writes' pace decides."""
    spec = lecture_of(6000)
    token = preview_course(spec)
    installation = preview_course(spec, github_hourly=12500)
    calls = token.github.calls
    assert 10000 < calls <= 12500
    assert token.github_s == (math.ceil(calls / 5000) - 1) * HOUR_S
    assert installation.github_s == installation.github.writes * 1.0
    assert installation.github_s < token.github_s


def test_a_small_course_is_paced_by_its_writes_alone() -> None:
    """Under any credential's hourly limit, the time is the writes a second apart."""
    spec = lecture_of(3)
    for hourly in (None, 5000, 12500, 15000):
        preview = preview_course(spec, github_hourly=hourly)
        assert preview.github_s == preview.github.writes * 1.0
