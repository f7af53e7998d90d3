"""The seed files of a course repository, rendered from the course details, and git blob shas.

Rendering is a pure function of the course description, so the same course always gives the
same bytes, the same blob shas and (with the fixed commit identity) the same commit: a re-run
compares shas and writes nothing.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from string import Template

from provisioning.courses.spec import CourseSpec
from provisioning.github.gateway import GitIdentity

MARKER_TRAILER = "Provisioned-by: course-provisioning-bot"
# Our branch for proposed seed-file updates; the pull request from it is how a course change
# reaches a repository after its first seeding (a human merges it, or not).
SEED_UPDATE_BRANCH = "course-bot/seed-update"
# Fixed author and committer, date included: a commit re-POSTed after a lost answer (or on a
# retry after a restart) has the same tree, parent, message and identity, hence the same sha.
SEED_IDENTITY = GitIdentity(
    name="course-provisioning-bot",
    email="course-provisioning-bot@users.noreply.github.com",
    date="2000-01-01T00:00:00Z",
)
# Template file → path in the repository.
SEED_PATHS: dict[str, str] = {
    "README.md": "README.md",
    "syllabus.md": "syllabus.md",
    "CONTRIBUTING.md": "CONTRIBUTING.md",
    "pull_request_template.md": ".github/pull_request_template.md",
    "assignment-01.md": "assignments/assignment-01.md",
}


def blob_sha(data: bytes) -> str:
    """The sha git gives a blob with this content (what the tree lists for the file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _template(name: str) -> Template:
    text = resources.files("provisioning.templates").joinpath("seed", name).read_text("utf-8")
    return Template(text)


def _variables(
    spec: CourseSpec, repo: str, group: str | None, branch: str, review_count: int
) -> dict[str, str]:
    staff = [
        f"{m.name} (@{m.github}, {'instructor' if m.role == 'instructor' else 'TA'})"
        for m in spec.staff
    ]
    if group is None:
        scope = f"This is the lecture repository of {spec.code} {spec.title}."
        group_line = ""
    else:
        scope = (
            f"This is the repository of lab group `{group}` of {spec.code} {spec.title}: "
            "only the group and the staff can see it."
        )
        group_line = f"\nLab group: {group}"
    return {
        "code": spec.code,
        "title": spec.title,
        "term": spec.term,
        "org": spec.github_org,
        "repo": repo,
        "branch": branch,
        "group_line": group_line,
        "scope": scope,
        "staff_inline": ", ".join(staff),
        "staff_list": "\n".join(f"- {s}" for s in staff),
        "review_count": str(review_count),
    }


def render_seed_files(
    spec: CourseSpec,
    *,
    repo: str,
    group: str | None,
    branch: str = "main",
    review_count: int = 1,
) -> dict[str, bytes]:
    """Repository path → content, in a fixed order."""
    variables = _variables(spec, repo, group, branch, review_count)
    return {
        path: _template(name).substitute(variables).encode("utf-8")
        for name, path in SEED_PATHS.items()
    }


def seed_message(spec: CourseSpec, group: str | None) -> str:
    what = "lecture" if group is None else f"lab group {group}"
    return (
        f"Seed {spec.code} {spec.term} {what} repository\n\n"
        "README, syllabus, contributing guide, pull request template and the first "
        f"assignment, rendered from the course details.\n\n{MARKER_TRAILER}\n"
    )


def _what(group: str | None) -> str:
    return "lecture" if group is None else f"lab group {group}"


def update_message(spec: CourseSpec, group: str | None) -> str:
    return (
        f"Update the seed files of the {spec.code} {spec.term} {_what(group)} repository\n\n"
        "Rendered again from the changed course details, for review in a pull request.\n\n"
        f"{MARKER_TRAILER}\n"
    )


def update_title(spec: CourseSpec, group: str | None) -> str:
    # Names the details it was rendered from, so the title follows each further change.
    return f"Update the {_what(group)} files to the course details of {spec.code} {spec.title}"


def update_body(branch: str, paths: list[str], edited: set[str]) -> str:
    """The pull request's description: what it proposes, and which files people changed."""
    lines = [
        "The course details changed, so these files were rendered again. Nothing is written "
        f"to `{branch}` without this pull request: review the difference, edit this branch "
        "if you like, and merge it, or close it to keep what is there.",
        "",
    ]
    for path in sorted(paths):
        note = (
            f" (changed on `{branch}` since it was seeded: merging replaces those edits, "
            "so carry over what should stay)"
            if path in edited
            else ""
        )
        lines.append(f"- `{path}`{note}")
    return "\n".join(lines) + f"\n\n{MARKER_TRAILER}\n"
