"""The line above a bot's answer in the sandbox client: the command as it was sent, with its
subcommand path, each option, and an attachment by its file name."""

from __future__ import annotations

from sandbox.console.invocation import command_line
from sandbox.discord.models import Interaction


def sent(
    options: list[dict[str, object]], resolved: dict[str, object] | None = None
) -> Interaction:
    data: dict[str, object] = {"name": "course", "type": 1, "options": options}
    if resolved is not None:
        data["resolved"] = resolved
    return Interaction(
        id=1,
        token="t",
        created_at=0.0,
        guild_id=2,
        channel_id=3,
        user_id=4,
        name="course",
        payload={"data": data},
    )


def test_a_subcommand_and_its_options_in_order() -> None:
    status = sent(
        [
            {
                "name": "status",
                "type": 1,
                "options": [{"name": "course", "type": 3, "value": "CS101"}],
            }
        ]
    )
    assert command_line(status) == "course status course:CS101"
    assert command_line(sent([{"name": "list", "type": 1, "options": []}])) == "course list"


def test_an_attachment_by_its_file_name() -> None:
    roster = sent(
        [
            {
                "name": "create",
                "type": 1,
                "options": [
                    {"name": "kind", "type": 3, "value": "laboratory"},
                    {"name": "roster", "type": 11, "value": "77"},
                ],
            }
        ],
        {"attachments": {"77": {"id": "77", "filename": "roster.csv"}}},
    )
    assert command_line(roster) == "course create kind:laboratory roster:roster.csv"
