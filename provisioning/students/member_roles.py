"""Which server a course has and which of its roles a person of the roster holds."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Step

SERVER_STEP = "discord.server"


def role_keys(role: str, group: str | None) -> list[str]:
    """The role steps of a person: Student and their lab group's, or their staff role."""
    if role == "student":
        return ["discord.role:student", *([f"discord.role:{group}"] if group else [])]
    return [f"discord.role:{role}"]


async def server_and_roles(
    session: AsyncSession, course_id: str, keys: list[str]
) -> tuple[str | None, list[str] | None]:
    """The course's guild id and the ids of these role steps; None for what is not made yet."""
    rows = dict(
        (
            await session.execute(
                select(Step.key, Step.external_id).where(
                    Step.course_id == course_id,
                    Step.key.in_([SERVER_STEP, *keys]),
                    Step.state == "succeeded",
                )
            )
        ).all()
    )
    roles = [rows.get(k) for k in keys]
    if any(r is None for r in roles):
        return rows.get(SERVER_STEP), None
    return rows.get(SERVER_STEP), [r for r in roles if r is not None]
