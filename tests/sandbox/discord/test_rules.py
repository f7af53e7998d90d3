"""Today's Discord rules: forbidden endpoints, auth, hierarchy, permissions, bodies, unknowns."""

from __future__ import annotations

from .conftest import Running, World, make_world

VIEW_CHANNEL = 1024


async def test_bots_cannot_create_guilds(running: Running) -> None:
    """POST /guilds and POST /guilds/templates/{code} answer 400 with code 20001."""
    for path in ("/guilds", "/guilds/templates/abc"):
        status, body, _ = await running.api("POST", path, json={"name": "x"})
        assert status == 400
        assert body == {"message": "Bots cannot use this endpoint", "code": 20001}


async def test_unknown_token_is_401(running: Running) -> None:
    """A wrong bot token gets 401 {"message": "401: Unauthorized", "code": 0}."""
    status, body, headers = await running.api("GET", "/users/@me", token="nope")
    assert status == 401
    assert body == {"message": "401: Unauthorized", "code": 0}
    assert headers["Content-Type"] == "application/json"


async def test_role_hierarchy_gives_50013(running: Running, world: World) -> None:
    """Once the bot role sits below a role, assigning, editing, deleting or moving it is 50013."""
    g = world.guild_id
    status, role, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "Lab"})
    assert status == 200
    bob = world.users["bob"]
    assert (await running.control("POST", f"/guilds/{g}/members", json={"user": "bob"}))[0] == 201
    status, _, _ = await running.api("PUT", f"/guilds/{g}/members/{bob}/roles/{role['id']}")
    assert status == 204
    status, _ = await running.control("POST", f"/guilds/{g}/bot-role", json={"position": 1})
    assert status == 200
    calls = [
        ("PUT", f"/guilds/{g}/members/{bob}/roles/{role['id']}", None),
        ("PATCH", f"/guilds/{g}/roles/{role['id']}", {"name": "Lab 2"}),
        ("DELETE", f"/guilds/{g}/roles/{role['id']}", None),
        ("PATCH", f"/guilds/{g}/roles", [{"id": role["id"], "position": 1}]),
    ]
    for method, path, body in calls:
        status, err, _ = await running.api(method, path, json=body)
        assert (status, err["code"]) == (403, 50013), (method, path)
    status, _, _ = await running.api("POST", f"/guilds/{g}/roles", json={"permissions": "8"})
    assert status == 403


async def test_missing_permissions_give_50013(running: Running) -> None:
    """A bot added with only VIEW_CHANNEL can't create channels, roles or invites with role_ids."""
    world = await make_world(running, permissions=VIEW_CHANNEL)
    g = world.guild_id
    for path, body in (
        (f"/guilds/{g}/channels", {"name": "x"}),
        (f"/guilds/{g}/roles", {"name": "x"}),
        (f"/guilds/{g}/audit-logs", None),
    ):
        method = "GET" if body is None else "POST"
        status, err, _ = await running.api(method, path, json=body)
        assert (status, err) == (403, {"message": "Missing Permissions", "code": 50013})
    status, err, _ = await running.api("PATCH", f"/guilds/{g}", json={"name": "new"})
    assert status == 403


async def test_overwrites_only_with_permissions_the_bot_has(running: Running, world: World) -> None:
    """Overwrites allowing ADMINISTRATOR (which the bot lacks) or MANAGE_ROLES are 50013."""
    g = world.guild_id
    for bits in (8, 1 << 28):
        ow = [{"id": g, "type": 0, "allow": bits, "deny": 0}]
        status, err, _ = await running.api(
            "POST", f"/guilds/{g}/channels", json={"name": "x", "permission_overwrites": ow}
        )
        assert (status, err["code"]) == (403, 50013)
    ow = [{"id": g, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}]
    status, ch, _ = await running.api(
        "POST", f"/guilds/{g}/channels", json={"name": "private", "permission_overwrites": ow}
    )
    assert status == 201
    assert ch["permission_overwrites"][0]["deny"] == "1024"


async def test_hidden_channels_are_omitted(running: Running, world: World) -> None:
    """A channel denying the bot VIEW_CHANNEL is left out of GET /guilds/{id}/channels."""
    g = world.guild_id
    ow = [{"id": g, "type": 0, "allow": 0, "deny": VIEW_CHANNEL}]
    _, ch, _ = await running.api(
        "POST", f"/guilds/{g}/channels", json={"name": "hidden", "permission_overwrites": ow}
    )
    _, listed, _ = await running.api("GET", f"/guilds/{g}/channels")
    assert ch["id"] not in {c["id"] for c in listed}
    status, err, _ = await running.api("GET", f"/channels/{ch['id']}")
    assert (status, err["code"]) == (403, 50001)


async def test_invalid_body_gives_nested_50035(running: Running, world: World) -> None:
    """A missing name and a bad overwrite id come back as one 50035 error tree."""
    body = {"permission_overwrites": [{"id": "abc", "type": 0}], "type": 7}
    status, err, _ = await running.api("POST", f"/guilds/{world.guild_id}/channels", json=body)
    assert status == 400
    assert err["code"] == 50035
    assert err["message"] == "Invalid Form Body"
    assert err["errors"]["name"] == {
        "_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]
    }
    assert err["errors"]["permission_overwrites"]["0"]["id"]["_errors"][0]["code"] == (
        "NUMBER_TYPE_COERCE"
    )
    assert err["errors"]["type"]["_errors"][0]["code"] == "BASE_TYPE_CHOICES"


async def test_invalid_snowflake_in_path_is_50035(running: Running, world: World) -> None:
    """A path id that is not a snowflake is a 50035 form error."""
    status, err, _ = await running.api("GET", "/guilds/not-a-number")
    assert (status, err["code"]) == (400, 50035)
    assert "guild_id" in err["errors"]


async def test_unknown_objects_are_404_with_their_codes(running: Running, world: World) -> None:
    """Unknown channel, guild, member, overwrite, role and invite give 404 and 10003…10011."""
    g, missing = world.guild_id, "1234567890123456789"
    cases = [
        ("GET", f"/channels/{missing}", 10003),
        ("GET", f"/guilds/{missing}", 10004),
        ("GET", f"/guilds/{g}/members/{missing}", 10007),
        ("DELETE", f"/channels/{world.general_id}/permissions/{missing}", 10009),
        ("PATCH", f"/guilds/{g}/roles/{missing}", 10011),
        ("GET", "/invites/nope", 10006),
    ]
    for method, path, code in cases:
        status, err, _ = await running.api(method, path, json={} if method == "PATCH" else None)
        assert (status, err["code"]) == (404, code), path


async def test_snowflakes_accepted_as_ints_and_returned_as_strings(
    running: Running, world: World
) -> None:
    """Ids and permission sets may be sent as ints; they always come back as strings."""
    g = world.guild_id
    status, role, _ = await running.api(
        "POST", f"/guilds/{g}/roles", json={"name": "r", "permissions": 1024}
    )
    assert status == 200
    assert role["permissions"] == "1024"
    assert isinstance(role["id"], str)
    status, _, _ = await running.api(
        "PUT",
        f"/channels/{world.general_id}/permissions/{role['id']}",
        json={"type": 0, "allow": 1024, "deny": "2048"},
    )
    assert status == 204
    _, ch, _ = await running.api("GET", f"/channels/{world.general_id}")
    ow = next(o for o in ch["permission_overwrites"] if o["id"] == role["id"])
    assert ow == {"id": role["id"], "type": 0, "allow": "1024", "deny": "2048"}


async def test_audit_log_reason_is_stored_and_filterable(running: Running, world: World) -> None:
    """X-Audit-Log-Reason is URL-decoded into the audit log, filterable by user and action type."""
    g = world.guild_id
    headers = {"X-Audit-Log-Reason": "cp%20op%3D42"}
    _, ch, _ = await running.api(
        "POST", f"/guilds/{g}/channels", json={"name": "a"}, headers=headers
    )
    await running.api("POST", f"/guilds/{g}/roles", json={"name": "b"}, headers=headers)
    bot_id = (await running.api("GET", "/users/@me"))[1]["id"]
    status, log, _ = await running.api(
        "GET", f"/guilds/{g}/audit-logs", params={"user_id": bot_id, "action_type": "10"}
    )
    assert status == 200
    entries = log["audit_log_entries"]
    assert [(e["target_id"], e["reason"]) for e in entries] == [(ch["id"], "cp op=42")]
