"""Reading a roster CSV attachment: the size check before it is fetched."""

from __future__ import annotations

import discord

from provisioning.errors import ProvisioningError

# Far above any real roster (5,000 students is ~300 KB), and bounds what is read into memory.
ROSTER_MAX_BYTES = 2 * 1024 * 1024


class RosterFileError(ProvisioningError):
    """The attached roster is too large to be one."""

    status = 413
    title = "Roster file too large"


def check_size(file: discord.Attachment) -> None:
    """Refuse a file larger than any roster before downloading it."""
    if file.size > ROSTER_MAX_BYTES:
        raise RosterFileError(
            f"{file.filename} is {file.size / (1024 * 1024):.1f} MiB; a roster has at most "
            f"{ROSTER_MAX_BYTES // (1024 * 1024)} MiB. Attach the CSV export of the class list "
            "(columns name, github, and optionally email, discord_id, group)"
        )


async def read(file: discord.Attachment) -> bytes:
    check_size(file)
    return await file.read()
