"""Claim codes: derived from the course id and a secret, checked against candidate courses."""

from __future__ import annotations

import re

import pytest

from provisioning.claims.codes import InvalidClaimCodeError, claim_code, course_id_from_code

SECRET = b"s" * 32


def test_code_is_stable_short_and_grouped() -> None:
    """The same course and secret always give the same 10-character grouped code."""
    code = claim_code(SECRET, "course-1")
    assert code == claim_code(SECRET, "course-1")
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}", code)
    assert code != claim_code(SECRET, "course-2")
    assert code != claim_code(b"t" * 32, "course-1")


def test_code_finds_its_course_among_candidates_whatever_the_typing() -> None:
    """A code typed in lower case, without dashes or with spaces still finds its course."""
    code = claim_code(SECRET, "course-2")
    candidates = ["course-1", "course-2", "course-3"]
    assert course_id_from_code(SECRET, code, candidates) == "course-2"
    typed = " " + code.lower().replace("-", " ") + " "
    assert course_id_from_code(SECRET, typed, candidates) == "course-2"


@pytest.mark.parametrize("code", ["", "ABCD", "ABCD-EFGH-JKL", "ABCD-EFGH-JK"])
def test_unknown_or_malformed_codes_are_refused(code: str) -> None:
    """A code of no candidate course (or of the wrong shape) raises InvalidClaimCodeError."""
    with pytest.raises(InvalidClaimCodeError):
        course_id_from_code(SECRET, code, ["course-1"])


def test_code_of_a_course_not_among_candidates_is_refused() -> None:
    """A course already claimed is not a candidate, so its code no longer claims anything."""
    with pytest.raises(InvalidClaimCodeError):
        course_id_from_code(SECRET, claim_code(SECRET, "course-1"), ["course-2"])
