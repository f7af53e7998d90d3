"""Discord permission bits and the overwrites the plan uses (PLATFORM.md §1.3, §1.5)."""

from __future__ import annotations

# The sandbox (`sandbox/discord/permissions.py`) keeps its own copy of these bits on purpose: a
# test double that imported the product's table would agree with a wrong bit instead of
# catching it. Change both only against Discord's documentation, never one from the other.
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31

# What the install link asks for: enough to build the course, not ADMINISTRATOR. A bot can only
# allow or deny in overwrites what it has itself, so this includes everything the lab channels
# give their group and the staff (ATTACH_FILES, MANAGE_MESSAGES).
BOT_INSTALL = (
    CREATE_INSTANT_INVITE
    | MANAGE_CHANNELS
    | MANAGE_GUILD
    | VIEW_AUDIT_LOG
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | MANAGE_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MANAGE_ROLES
)

LAB_MEMBER = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ATTACH_FILES | EMBED_LINKS
LAB_STAFF = LAB_MEMBER | MANAGE_MESSAGES
# The bot allows itself to see what it builds: a channel it cannot see is omitted from listings,
# and reconciliation would then create it again.
BOT_CHANNEL = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | MANAGE_CHANNELS
