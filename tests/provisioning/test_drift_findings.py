"""How each kind of repair reads in the drift report when nobody can be named."""

from __future__ import annotations

from provisioning.courses.drift_explain import explain
from provisioning.courses.drift_findings import GITHUB_UNKNOWN, NO_DISCORD, Finding, Write


async def test_each_repair_is_described_and_says_why_nobody_is_named() -> None:
    """Without a Discord connection: a recreated role and channel named from what the write
    sent, a member's role, an overwrite and a renewed invite say what differed and that the
    audit log was not read; GitHub repairs say what differed and GitHub's reason."""
    writes = [
        Write(1, "POST", "/guilds/7/roles", {"name": "lab-01", "permissions": "0"}),
        Write(2, "POST", "/guilds/7/channels", {"name": "qa-help", "type": 0}),
        Write(3, "DELETE", "/guilds/7/members/42/roles/9", None),
        Write(4, "PUT", "/channels/5/permissions/9", {"type": 0}),
        Write(5, "POST", "/channels/5/invites", {"max_age": 0}),
        Write(6, "PUT", "/repos/demo/cs101-lab-01/branches/main/protection", {}),
        Write(7, "PUT", "/orgs/demo/teams/cs101-lab-01/repos/demo/cs101-lab-01", {}),
        Write(8, "POST", "/orgs/demo/invitations", {}),
    ]
    found = await explain(writes, None, "7")
    assert {i: (f.resource, f.differed, f.repaired) for i, f in found.items()} == {
        1: ("Discord role lab-01", "the role was deleted", "the role created again"),
        2: ("Discord channel #qa-help", "the channel was deleted", "the channel created again"),
        3: (
            "Discord member 42",
            "was given a role the course no longer gives them",
            "the role taken away again",
        ),
        4: (
            "Discord channel 5",
            "who may see or post there was changed",
            "the channel's permissions for that role or member set back",
        ),
        5: (
            "Discord invite link of channel 5",
            "the invite link had expired or was deleted",
            "a new invite link made",
        ),
        6: (
            "GitHub repository cs101-lab-01, branch main",
            "its protection was removed or changed",
            "branch protection set back",
        ),
        7: (
            "GitHub repository cs101-lab-01",
            "team cs101-lab-01's access was removed or changed",
            "team cs101-lab-01's access set back",
        ),
        8: (
            "GitHub organization invitation",
            "the invitation had expired or was cancelled",
            "invited again",
        ),
    }
    assert {found[i].unknown_why for i in range(1, 6)} == {NO_DISCORD}
    assert {found[i].unknown_why for i in range(6, 9)} == {GITHUB_UNKNOWN}
    assert all(f.changed_by is None for f in found.values())
    assert {Finding.from_json(f.to_json()) for f in found.values()} == set(found.values())
