"""What the `/course` commands need from the domain, as Protocols (the bot passes the services
of `provisioning.claims.service` and `provisioning.courses.service`)."""

from __future__ import annotations

from typing import Protocol

from provisioning.claims.codes import ClaimResult
from provisioning.courses.spec import CourseSpec
from provisioning.courses.views import (
    CourseRecord,
    CourseStatus,
    CourseSummary,
    CourseUpdate,
    RetryOutcome,
)


class ClaimService(Protocol):
    """Binds a Discord server to the course a claim code names.

    The implementation checks the code (`course_id_from_code`), refuses a course already bound to
    another server, stores `guild_id` as the external id of the course's `discord.server` step
    and sends that step back to pending, and records a `claim made` audit event by `user_id`.
    """

    async def claim(self, code: str, guild_id: str, user_id: str) -> ClaimResult: ...


class CourseCommandService(Protocol):
    """Courses as the `/course` commands read and change them
    (`provisioning.courses.service.CourseService`). Changes wake the runner themselves."""

    async def status(self, course_id: str) -> CourseStatus: ...

    async def retry(self, course_id: str, actor: str) -> RetryOutcome: ...

    async def get(self, course_id: str) -> CourseRecord: ...

    async def update(self, course_id: str, spec: CourseSpec, actor: str) -> CourseUpdate: ...

    async def recent(self, limit: int = 10) -> list[CourseSummary]: ...
