"""The join e-mail: rendered from Jinja2 templates, in plain text and in HTML.

Its own small environment (autoescaping for HTML only): the templates live beside this module
and nothing else renders with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from provisioning.courses.spec import CourseSpec


@dataclass(frozen=True)
class JoinInvitation:
    """What the message says: who, which course, where to go, until when."""

    name: str
    role: str  # instructor | ta | student
    group: str | None
    link: str
    expires_at: datetime


def environment() -> Environment:
    """The templates' environment (built by the caller once, not at import time)."""
    return Environment(
        loader=PackageLoader("provisioning.students", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


ROLE_NAMES = {"instructor": "instructor", "ta": "teaching assistant", "student": "student"}


def render(env: Environment, spec: CourseSpec, invitation: JoinInvitation) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the join message."""
    values = {
        "course": spec,
        "person": invitation,
        "role_name": ROLE_NAMES[invitation.role],
        "expires": f"{invitation.expires_at:%A %d %B %Y}",
        "lab": spec.kind == "laboratory",
    }
    subject = f"{spec.code} {spec.title} ({spec.term}): join the course on GitHub and Discord"
    text = env.get_template("join.txt").render(values)
    html = env.get_template("join.html").render(values)
    return subject, text, html
