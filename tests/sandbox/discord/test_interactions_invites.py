"""Interaction timing (40060, 10062) and invites (max_uses, expiry, role_ids, target users)."""

from __future__ import annotations

import json

import aiohttp

from .conftest import Running, World


async def _interaction(running: Running, world: World) -> tuple[str, str]:
    status, created = await running.control(
        "POST", "/interactions", json={"guild_id": world.guild_id, "user": "ada", "name": "ping"}
    )
    assert status == 201
    return created["id"], created["token"]


async def test_second_callback_is_40060(running: Running, world: World) -> None:
    """The first callback answers 200 JSON; a second one is 400/40060."""
    iid, token = await _interaction(running, world)
    path = f"/interactions/{iid}/{token}/callback?with_response=1"
    status, body, headers = await running.api(
        "POST", path, json={"type": 4, "data": {"content": "hi"}}
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body["interaction"]["id"] == iid
    assert body["resource"]["message"]["content"] == "hi"
    status, err, _ = await running.api("POST", path, json={"type": 4, "data": {"content": "again"}})
    assert (status, err["code"]) == (400, 40060)


async def test_callback_after_three_seconds_is_10062(running: Running, world: World) -> None:
    """A callback later than 3 s after the interaction is 404/10062."""
    iid, token = await _interaction(running, world)
    running.clock.advance(3.5)
    status, err, _ = await running.api(
        "POST", f"/interactions/{iid}/{token}/callback", json={"type": 5}
    )
    assert (status, err["code"]) == (404, 10062)


async def test_followups_and_edits_until_the_token_expires(running: Running, world: World) -> None:
    """After a defer, edits and follow-ups work for 15 minutes; then the token is invalid."""
    iid, token = await _interaction(running, world)
    app_id = (await running.api("GET", "/oauth2/applications/@me"))[1]["id"]
    await running.api("POST", f"/interactions/{iid}/{token}/callback", json={"type": 5})
    hook = f"/webhooks/{app_id}/{token}"
    status, edited, _ = await running.api(
        "PATCH", f"{hook}/messages/@original", json={"content": "done"}
    )
    assert status == 200
    assert edited["content"] == "done"
    status, msg, _ = await running.api("POST", f"{hook}?wait=true", json={"content": "more"})
    assert status == 200
    status, again, _ = await running.api(
        "PATCH", f"{hook}/messages/{msg['id']}", json={"content": "x"}
    )
    assert again["content"] == "x"
    assert (await running.api("GET", f"{hook}/messages/@original"))[1]["content"] == "done"
    running.clock.advance(15 * 60 + 1)
    status, err, _ = await running.api("POST", f"{hook}?wait=true", json={"content": "late"})
    assert (status, err["code"]) == (401, 50027)
    _, seen = await running.control("GET", f"/interactions/{iid}")
    assert seen["original"]["content"] == "done"
    assert [m["content"] for m in seen["followups"]] == ["x"]


async def _role_and_invite(running: Running, world: World, **body: object) -> tuple[str, str]:
    _, role, _ = await running.api("POST", f"/guilds/{world.guild_id}/roles", json={"name": "Lab"})
    body.setdefault("role_ids", [role["id"]])
    status, invite, _ = await running.api(
        "POST", f"/channels/{world.general_id}/invites", json=body
    )
    assert status == 200
    return role["id"], invite["code"]


async def test_invite_role_ids_and_max_uses(running: Running, world: World) -> None:
    """Joining grants role_ids; after max_uses joins the invite is 10006."""
    role_id, code = await _role_and_invite(running, world, max_uses=1, unique=True)
    status, member = await running.control("POST", f"/invites/{code}/accept", json={"user": "bob"})
    assert status == 200
    assert member["roles"] == [role_id]
    status, err = await running.control("POST", f"/invites/{code}/accept", json={"user": "grace"})
    assert (status, err["code"]) == (404, 10006)
    status, err, _ = await running.api("GET", f"/invites/{code}")
    assert (status, err["code"]) == (404, 10006)


async def test_invite_expires_after_max_age(running: Running, world: World) -> None:
    """An invite stops working after max_age seconds."""
    _, code = await _role_and_invite(running, world, max_age=60, role_ids=[])
    running.clock.advance(61)
    status, err = await running.control("POST", f"/invites/{code}/accept", json={"user": "bob"})
    assert (status, err["code"]) == (404, 10006)


async def test_role_ids_above_the_bot_are_refused(running: Running, world: World) -> None:
    """An invite may not grant a role at or above the bot's highest role (50013)."""
    status, err, _ = await running.api(
        "POST", f"/channels/{world.general_id}/invites", json={"role_ids": [world.bot_role_id]}
    )
    assert (status, err["code"]) == (403, 50013)


async def test_non_unique_invites_are_reused(running: Running, world: World) -> None:
    """Without unique, a similar live invite is returned instead of a new one."""
    path = f"/channels/{world.general_id}/invites"
    first = (await running.api("POST", path, json={"max_age": 0}))[1]["code"]
    assert (await running.api("POST", path, json={"max_age": 0}))[1]["code"] == first
    assert (await running.api("POST", path, json={"max_age": 0, "unique": True}))[1][
        "code"
    ] != first


async def test_target_users_file_limits_who_can_join(running: Running, world: World) -> None:
    """A multipart invite with target_users_file admits only the listed users; bad ids are 50035."""
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"max_uses": 5}))
    csv = f"user_id\n{world.users['bob']}\n".encode()
    form.add_field("target_users_file", csv, filename="u.csv", content_type="text/csv")
    status, invite, _ = await running.api(
        "POST", f"/channels/{world.general_id}/invites", data=form
    )
    assert status == 200
    code = invite["code"]
    status, err = await running.control("POST", f"/invites/{code}/accept", json={"user": "grace"})
    assert (status, err["code"]) == (404, 10006)
    assert (await running.control("POST", f"/invites/{code}/accept", json={"user": "bob"}))[
        0
    ] == 200
    bad = aiohttp.FormData()
    bad.add_field("payload_json", "{}")
    bad.add_field("target_users_file", b"user_id\nnot-an-id\n", filename="u.csv")
    status, err, _ = await running.api("POST", f"/channels/{world.general_id}/invites", data=bad)
    assert (status, err["code"]) == (400, 50035)


async def test_guild_invites_listing_and_delete(running: Running, world: World) -> None:
    """GET /guilds/{id}/invites lists live invites with uses; DELETE /invites/{code} removes one."""
    _, code = await _role_and_invite(running, world, unique=True)
    status, listed, _ = await running.api("GET", f"/guilds/{world.guild_id}/invites")
    assert status == 200
    assert [(i["code"], i["uses"]) for i in listed] == [(code, 0)]
    assert (await running.api("DELETE", f"/invites/{code}"))[0] == 200
    assert (await running.api("GET", f"/guilds/{world.guild_id}/invites"))[1] == []
