"""Platform limits the course description is checked against (see PLATFORM.md §1.6)."""

from __future__ import annotations

import math

DISCORD_ROLES_MAX = 250
DISCORD_CHANNELS_MAX = 500
DISCORD_CHANNELS_PER_CATEGORY = 50
GUILD_NAME_MAX = 100
TITLE_MAX = 100
STAFF_MAX = 100
GROUPS_MAX = 500
STUDENTS_MAX = 10_000

# @everyone, the bot's managed role, Instructor, TA and Student exist besides the group roles.
FIXED_ROLES = 5
# The course category and its four channels exist besides the lab categories and channels.
FIXED_CHANNELS = 5
GUILD_NAME_SEPARATOR = " · "


def roles_needed(group_count: int) -> int:
    """Roles a laboratory course with this many groups occupies in its server."""
    return FIXED_ROLES + group_count


def lab_categories_needed(group_count: int) -> int:
    """Lab channels go in "Labs" categories of at most 50 channels each."""
    return math.ceil(group_count / DISCORD_CHANNELS_PER_CATEGORY)


def channels_needed(group_count: int) -> int:
    """Channels (categories included) a laboratory course occupies."""
    return FIXED_CHANNELS + lab_categories_needed(group_count) + group_count


def guild_name(code: str, title: str, term: str) -> str:
    """The server name: `CS101 · Intro to Programming · 2027-spring`."""
    return GUILD_NAME_SEPARATOR.join((code, title, term))


def guild_name_length(code: object, title: object, term: object) -> int:
    """Length of the server name, or 0 when a part is not a string (reported elsewhere)."""
    if not (isinstance(code, str) and isinstance(title, str) and isinstance(term, str)):
        return 0
    return len(guild_name(code.strip(), title.strip(), term.strip()))
