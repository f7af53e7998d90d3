"""People leave teams and the organization; archived repositories are read-only."""

from __future__ import annotations

import base64

import aiohttp

from tests.sandbox.github.test_nested_teams import API, ORG, TEAMS, call, make_repo, make_team


async def test_leaving_a_team_and_the_org_cancels_what_the_invitation_would_bring(
    http: aiohttp.ClientSession,
) -> None:
    """A pending team member removed from the team is no longer brought into it by the org
    invitation; removing the org membership of an invitee cancels the invitation (204), a
    second time is 404."""
    await make_team(http, "Lab")
    await make_team(http, "Other")
    for team in ("lab", "other"):
        status, _ = await call(
            http, "PUT", f"{TEAMS}/{team}/memberships/ada", json={"role": "member"}
        )
        assert status == 200
    assert (await call(http, "DELETE", f"{TEAMS}/lab/memberships/ada"))[0] == 204
    _, invitations = await call(http, "GET", f"{API}/orgs/{ORG}/invitations")
    assert [i["team_count"] for i in invitations if i["login"] == "ada"] == [1]

    path = f"{API}/orgs/{ORG}/memberships/ada"
    assert (await call(http, "GET", path))[1]["state"] == "pending"
    assert (await call(http, "DELETE", path))[0] == 204
    _, invitations = await call(http, "GET", f"{API}/orgs/{ORG}/invitations")
    assert [i for i in invitations if i["login"] == "ada"] == []
    assert (await call(http, "GET", f"{TEAMS}/other/memberships/ada"))[0] == 404
    assert (await call(http, "DELETE", path))[0] == 404


async def test_cancelling_an_invitation_by_id_withdraws_its_pending_teams_only(
    http: aiohttp.ClientSession,
) -> None:
    """DELETE /orgs/{org}/invitations/{id} of a pending invitation is 204 and takes the pending
    team memberships it held with it; a second time, or an id that is no pending invitation
    (accepted, never sent), is 404."""
    await make_team(http, "Lab")
    status, _ = await call(http, "PUT", f"{TEAMS}/lab/memberships/ada", json={"role": "member"})
    assert status == 200
    _, invitations = await call(http, "GET", f"{API}/orgs/{ORG}/invitations")
    [invitation] = [i for i in invitations if i["login"] == "ada"]
    path = f"{API}/orgs/{ORG}/invitations/{invitation['id']}"
    assert (await call(http, "DELETE", path))[0] == 204
    _, invitations = await call(http, "GET", f"{API}/orgs/{ORG}/invitations")
    assert [i for i in invitations if i["login"] == "ada"] == []
    assert (await call(http, "GET", f"{TEAMS}/lab/memberships/ada"))[0] == 404
    assert (await call(http, "GET", f"{API}/orgs/{ORG}/memberships/ada"))[0] == 404
    assert (await call(http, "DELETE", path))[0] == 404
    assert (await call(http, "DELETE", f"{API}/orgs/{ORG}/invitations/999999"))[0] == 404


async def test_an_archived_repository_refuses_pushes_until_unarchived(
    http: aiohttp.ClientSession,
) -> None:
    """PATCH archived: a contents write is 403 "Repository was archived so is read-only.";
    after PATCH archived false it is accepted again."""
    await make_repo(http, "old")
    repo = f"{API}/repos/{ORG}/old"
    status, body = await call(http, "PATCH", repo, json={"archived": True})
    assert (status, body["archived"]) == (200, True)
    write = {"message": "x", "content": base64.b64encode(b"x\n").decode()}
    status, body = await call(http, "PUT", f"{repo}/contents/x.md", json=write)
    assert (status, body["message"]) == (403, "Repository was archived so is read-only.")
    await call(http, "PATCH", repo, json={"archived": False})
    assert (await call(http, "PUT", f"{repo}/contents/x.md", json=write))[0] == 201
