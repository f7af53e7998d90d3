"""Join links: signed, expiring, bound to one course and one person; every misuse is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from provisioning.students.links import JoinLinkError, JoinLinks

NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
COURSE = "0b5f1a52-6a0e-4c57-9a2b-5b8f8b8e2d11"


def _problem(links: JoinLinks, token: str, course_id: str | None = COURSE) -> str:
    with pytest.raises(JoinLinkError) as info:
        links.check(token, NOW, course_id=course_id)
    return info.value.problem


def test_a_link_names_its_course_and_person_without_showing_the_address() -> None:
    """A valid link gives back its course, an opaque person reference and its expiry; the
    address is not readable in it, and the reference ignores the address's case."""
    links = JoinLinks(b"k" * 40)
    token = links.sign(COURSE, "Bob@Example.edu", NOW + timedelta(days=30))
    claim = links.check(token, NOW, course_id=COURSE)
    assert claim.course_id == COURSE
    assert claim.person == links.person("bob@example.edu")
    assert claim.expires_at == NOW + timedelta(days=30)
    assert "bob" not in token.lower()


def test_an_altered_link_is_refused() -> None:
    """Changing any character of the payload or the signature breaks the link."""
    links = JoinLinks(b"k" * 40)
    token = links.sign(COURSE, "bob@example.edu", NOW + timedelta(days=1))
    body, signature = token.split(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    assert _problem(links, f"{flipped}.{signature}") == "altered"
    assert _problem(links, f"{body}.{signature[:-1]}x") == "altered"
    assert _problem(JoinLinks(b"other-secret" * 4), token) == "altered"


def test_an_expired_link_says_when_it_expired() -> None:
    """A link past its expiry is refused with the date and what to do."""
    links = JoinLinks(b"k" * 40)
    token = links.sign(COURSE, "bob@example.edu", NOW - timedelta(seconds=1))
    with pytest.raises(JoinLinkError, match=r"expired on 01 February 2027\. Ask your course staff"):
        links.check(token, NOW, course_id=COURSE)


def test_another_courses_link_and_garbage_are_refused() -> None:
    """A valid link of another course, and strings that are no link, are refused by name."""
    links = JoinLinks(b"k" * 40)
    token = links.sign("another-course", "bob@example.edu", NOW + timedelta(days=1))
    assert _problem(links, token) == "other_course"
    assert links.check(token, NOW, course_id=None).course_id == "another-course"
    for garbage in ("", "abc", ".", "a.", ".b", "x" * 600 + ".y"):
        assert _problem(links, garbage) == "malformed"
