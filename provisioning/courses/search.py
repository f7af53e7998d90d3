"""Finding a course by what a person types: its code, its term, or its id.

What `/course status|retry|roster|invites` autocomplete from: people pick "CS101 · 2027-spring"
and never paste a UUID (which is still accepted).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course
from provisioning.errors import CourseNotFoundError

# Discord shows at most 25 choices (PLATFORM.md §1.11).
MAX_CHOICES = 25
_WORDS = re.compile(r"[^\s·,/]+")


@dataclass(frozen=True)
class CourseChoice:
    id: str
    code: str
    term: str
    title: str

    @property
    def label(self) -> str:
        """How a person recognises the course; at most 100 characters (Discord's limit)."""
        return f"{self.code} · {self.term} · {self.title}"[:100]


def _like(word: str) -> str:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CourseFinder:
    """Read-only lookups of courses by code, term and id."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def find(self, text: str, limit: int = MAX_CHOICES) -> list[CourseChoice]:
        """Courses whose code or term contains every word typed, newest first."""
        query = select(Course.id, Course.code, Course.term, Course.title)
        for word in _WORDS.findall(text)[:5]:
            pattern = _like(word)
            query = query.where(
                or_(
                    func.lower(Course.code).like(pattern, escape="\\"),
                    func.lower(Course.term).like(pattern, escape="\\"),
                    Course.id == word,
                )
            )
        query = query.order_by(Course.created_at.desc(), Course.id.desc()).limit(limit)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [CourseChoice(*row) for row in rows]

    async def resolve(self, value: str) -> str:
        """The id of the course `value` names: an id (what autocomplete sends), or a code and
        term as shown ("CS101 · 2027-spring" or "CS101 2027-spring")."""
        value = value.strip()
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
        words = _WORDS.findall(value)
        if len(words) >= 2:
            async with self._sessions() as session:
                found = await session.scalar(
                    select(Course.id).where(
                        func.lower(Course.code) == words[0].lower(),
                        func.lower(Course.term) == words[1].lower(),
                    )
                )
            if found is not None:
                return str(found)
        raise CourseNotFoundError(value[:100])
