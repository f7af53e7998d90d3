"""The guild audit log: every change recorded with who made it (the bot through the API, a
person through the hand-edit control routes), served with the spec's filters and shape."""

from __future__ import annotations

from typing import Any

from .conftest import Running, World
from .contract import response_errors

LOG = "/guilds/{guild_id}/audit-logs"


async def audit_log(running: Running, world: World, **params: str) -> list[dict[str, Any]]:
    status, body, _ = await running.api(
        "GET", f"/guilds/{world.guild_id}/audit-logs", params=params
    )
    assert status == 200, body
    assert response_errors(LOG, "GET", 200, body) == []
    entries: list[dict[str, Any]] = body["audit_log_entries"]
    named = {u["id"] for u in body["users"]}
    for entry in entries:  # the actor and a member target are in `users`
        assert entry["user_id"] in named
    return entries


async def ta_role_given_to_grace(running: Running, world: World) -> str:
    g = world.guild_id
    for who in ("grace", "bob"):
        status, _ = await running.control("POST", f"/guilds/{g}/members", json={"user": who})
        assert status == 201
    status, role, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "TA"})
    assert status == 200
    grace = world.users["grace"]
    status, _, _ = await running.api(
        "PUT",
        f"/guilds/{g}/members/{grace}/roles/{role['id']}",
        headers={"X-Audit-Log-Reason": "cp op=1"},
    )
    assert status == 204
    return str(role["id"])


async def test_a_person_taking_a_role_is_recorded_with_who_and_filterable(
    running: Running, world: World
) -> None:
    """Bob (no Manage Roles) may not take Grace's role: 403 50013, nothing changes, nothing is
    recorded. Ada (the owner) may: the entry names Ada, Grace, the role and her reason, newest
    first, after the bot's own; user_id, target_id, action_type, before, after and limit
    filter as the spec says."""
    g, grace, ada = world.guild_id, world.users["grace"], world.users["ada"]
    role = await ta_role_given_to_grace(running, world)
    path = f"/guilds/{g}/members/{grace}/roles/{role}"
    status, refused = await running.control("DELETE", path, json={"actor": "bob"})
    assert (status, refused["code"]) == (403, 50013)
    assert len(await audit_log(running, world, action_type="25")) == 1

    status, done = await running.control(
        "DELETE", path, json={"actor": "ada", "reason": "end of contract"}
    )
    assert (status, done) == (200, {"changed": True})
    status, again = await running.control("DELETE", path, json={"actor": "ada"})
    assert (status, again) == (200, {"changed": False})
    _, member, _ = await running.api("GET", f"/guilds/{g}/members/{grace}")
    assert role not in member["roles"]

    taken, given = await audit_log(running, world, action_type="25")
    assert taken["user_id"] == ada
    assert taken["target_id"] == grace
    assert taken["reason"] == "end of contract"
    assert taken["changes"] == [{"key": "$remove", "new_value": [{"id": role, "name": "TA"}]}]
    assert given["user_id"] != ada
    assert given["reason"] == "cp op=1"
    assert given["changes"][0]["key"] == "$add"
    assert int(taken["id"]) > int(given["id"])

    by_ada = await audit_log(running, world, user_id=ada)  # she also added the bot (28)
    assert by_ada[0]["id"] == taken["id"]
    assert [e["action_type"] for e in by_ada] == [25, 28]
    by_target = await audit_log(running, world, target_id=grace)
    assert [e["id"] for e in by_target] == [taken["id"], given["id"]]
    earlier = await audit_log(running, world, before=taken["id"], action_type="25")
    assert [e["id"] for e in earlier] == [given["id"]]
    after = await audit_log(running, world, after=given["id"], action_type="25")
    assert [e["id"] for e in after] == [taken["id"]]
    assert len(await audit_log(running, world, limit="1")) == 1
    status, _, _ = await running.api("GET", f"/guilds/{g}/audit-logs", params={"limit": "0"})
    assert status == 400


async def test_overwrite_and_role_changes_name_what_they_were(
    running: Running, world: World
) -> None:
    """The bot sets an overwrite (13), changes it (14, with its old values); Ada removes it
    (15, options naming the role) and deletes the role (32, with its old name): each entry
    names who acted, and an unknown actor is a 404 that changes nothing."""
    g, ch, ada = world.guild_id, world.general_id, world.users["ada"]
    role = await ta_role_given_to_grace(running, world)
    perms = f"/channels/{ch}/permissions/{role}"
    for allow in ("1024", "3072"):
        status, _, _ = await running.api(
            "PUT", perms, json={"type": 0, "allow": allow, "deny": "0"}
        )
        assert status == 204
    status, _ = await running.control("DELETE", perms, json={"actor": "nobody-here"})
    assert status == 404
    removed_now = await running.control("DELETE", perms, json={"actor": "ada"})
    assert removed_now == (200, {"deleted": True})
    status, _ = await running.control("DELETE", f"/guilds/{g}/roles/{role}", json={"actor": ada})
    assert status == 200

    (created,) = await audit_log(running, world, action_type="13")
    (updated,) = await audit_log(running, world, action_type="14")
    (removed,) = await audit_log(running, world, action_type="15")
    (deleted,) = await audit_log(running, world, action_type="32")
    assert created["options"] == {"id": role, "type": "0", "role_name": "TA"}
    assert {"key": "allow", "new_value": "3072", "old_value": "1024"} in updated["changes"]
    assert (removed["user_id"], removed["target_id"]) == (ada, ch)
    assert removed["options"] == {"id": role, "type": "0", "role_name": "TA"}
    assert (deleted["user_id"], deleted["target_id"]) == (ada, role)
    assert {"key": "name", "old_value": "TA"} in deleted["changes"]
    assert created["user_id"] == updated["user_id"] != ada
