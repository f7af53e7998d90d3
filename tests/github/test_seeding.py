"""Seed files: rendered from the course details, deterministic, and hashed as git does."""

from __future__ import annotations

from provisioning.courses.spec import parse_course
from provisioning.github.seeding import MARKER_TRAILER, blob_sha, render_seed_files, seed_message
from tests.provisioning.examples import lab_course, lecture_course

EXPECTED_PATHS = {
    "README.md",
    "syllabus.md",
    "CONTRIBUTING.md",
    ".github/pull_request_template.md",
    "assignments/assignment-01.md",
}


def test_blob_sha_matches_git() -> None:
    """The sha of a blob is git's: known values for the empty blob and `hello\\n`."""
    assert blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_lecture_files_render_every_variable() -> None:
    """The five files render with the course details and no placeholder left over."""
    spec = parse_course(lecture_course())
    files = render_seed_files(spec, repo="cs101-2027-spring", group=None)
    assert set(files) == EXPECTED_PATHS
    for data in files.values():
        text = data.decode("utf-8")
        assert "${" not in text
        assert "CS101" in text
    readme = files["README.md"].decode()
    assert "Introduction to Programming" in readme
    assert "2027-spring" in readme
    assert "Ada Lovelace (@ada, instructor)" in readme
    assert "git clone https://github.com/demo-university/cs101-2027-spring.git" in readme


def test_lab_files_name_the_group() -> None:
    """A lab repository's files say which group it belongs to."""
    spec = parse_course(lab_course())
    files = render_seed_files(spec, repo="cs201-2027-fall-lab-02", group="lab-02")
    assert "lab group `lab-02`" in files["README.md"].decode()
    assert "Lab group: lab-02" in files["assignments/assignment-01.md"].decode()


def test_rendering_is_deterministic() -> None:
    """The same course gives the same bytes, so re-runs compare equal shas."""
    first = render_seed_files(parse_course(lecture_course()), repo="r", group=None)
    second = render_seed_files(parse_course(lecture_course()), repo="r", group=None)
    assert first == second


def test_seed_message_carries_the_marker_trailer() -> None:
    """The seed commit's message ends with our `Provisioned-by` trailer."""
    message = seed_message(parse_course(lecture_course()), None)
    assert message.rstrip().splitlines()[-1] == MARKER_TRAILER
