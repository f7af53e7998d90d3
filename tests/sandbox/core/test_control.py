"""Journal, reset, save/load (including `--state` at start and stop) and the GitHub page."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from sandbox.core.clock import ManualClock
from sandbox.core.journal import Journal, JournalEntry
from sandbox.discord import DiscordConfig, DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.server import SandboxServer
from tests.sandbox.core.conftest import PingPlatform

CREATE = "/api/v3/orgs/demo-university/repos"


async def test_journal_records_each_api_request(http: aiohttp.ClientSession) -> None:
    """Every /api request is journaled with status, body summary and the echoed request id."""
    async with http.post(CREATE, json={"name": "lab", "description": "x" * 500}) as resp:
        request_id = resp.headers["x-github-request-id"]
    async with http.get("/api/v10/nowhere") as resp:
        assert resp.status == 404
    async with http.get("/_sandbox/requests") as resp:
        data = await resp.json()
    first, second = data["requests"]
    assert (first["method"], first["path"], first["status"]) == ("POST", CREATE, 201)
    assert first["platform"] == "github"
    assert first["request_id"] == request_id
    assert first["body"]["name"] == "lab"
    assert len(first["body"]["description"]) < 200
    assert (second["platform"], second["status"]) == ("discord", 404)
    assert data["cursor"] == second["seq"]


async def test_journal_filters_and_since_cursor(http: aiohttp.ClientSession) -> None:
    """`since` returns only newer entries; method/path/status filters narrow the list."""
    async with http.get("/api/v3/orgs/demo-university"):
        pass
    async with http.get("/_sandbox/requests") as resp:
        cursor = (await resp.json())["cursor"]
    async with http.post(CREATE, json={"name": "a"}):
        pass
    async with http.get("/api/v3/orgs/demo-free"):
        pass
    async with http.get("/_sandbox/requests", params={"since": cursor}) as resp:
        assert len((await resp.json())["requests"]) == 2
    query = {"since": cursor, "method": "post", "path": "/repos", "status": "201"}
    async with http.get("/_sandbox/requests", params=query) as resp:
        assert [e["path"] for e in (await resp.json())["requests"]] == [CREATE]


async def test_reset_restores_the_starting_world(http: aiohttp.ClientSession) -> None:
    """POST /_sandbox/reset forgets created repos and clears faults."""
    async with http.post(CREATE, json={"name": "lab"}) as resp:
        assert resp.status == 201
    async with http.post("/_sandbox/faults", json={"kind": "status", "path": "/nothing"}):
        pass
    async with http.post("/_sandbox/reset") as resp:
        assert resp.status == 200
    async with http.get("/api/v3/repos/demo-university/lab") as resp:
        assert resp.status == 404
    async with http.get("/_sandbox/faults") as resp:
        assert await resp.json() == []


async def test_save_and_load_round_trip(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """A saved state comes back after a reset, git objects and pings included."""
    target = tmp_path / "saved.json"  # the data directory is the state file's folder
    async with http.post(CREATE, json={"name": "lab", "auto_init": True}):
        pass
    async with http.post("/api/v10/ping"):
        pass
    async with http.post("/_sandbox/save", json={"path": "saved.json"}) as resp:
        assert resp.status == 200
    assert target.is_file()
    async with http.post("/_sandbox/reset"):
        pass
    async with http.post("/_sandbox/load", json={"path": "saved.json"}) as resp:
        assert resp.status == 200
    async with http.get("/api/v3/repos/demo-university/lab/git/ref/heads/main") as resp:
        assert resp.status == 200
    async with http.post("/api/v10/ping") as resp:
        assert (await resp.json())["pings"] == 2


async def test_state_file_saved_on_stop_and_loaded_on_start(tmp_path: Path) -> None:
    """With a state path, stopping saves and the next start loads the same world."""
    state = tmp_path / "state.json"
    clock = ManualClock()
    headers = {"Authorization": "token sandbox-github-token"}
    async with SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state) as srv:
        session = aiohttp.ClientSession(srv.base_url, headers=headers)
        async with session, session.post(CREATE, json={"name": "kept"}) as resp:
            assert resp.status == 201
    assert "kept" in json.dumps(json.loads(state.read_text()))
    async with SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state) as srv:
        session = aiohttp.ClientSession(srv.base_url, headers=headers)
        async with session, session.get("/api/v3/repos/demo-university/kept") as resp:
            assert resp.status == 200


async def test_github_page_shows_the_world(http: aiohttp.ClientSession) -> None:
    """GET /_sandbox/github renders orgs with plans, repos with files, teams, invitations,
    escaped."""
    async with http.post(CREATE, json={"name": "lab", "auto_init": True}):
        pass
    async with http.post("/api/v3/orgs/demo-university/teams", json={"name": "<b>x</b>"}):
        pass
    path = "/api/v3/orgs/demo-university/teams/b-x-b/memberships/ada"
    async with http.put(path, json={"role": "member"}) as resp:
        assert resp.status == 200
    async with http.get("/_sandbox/github") as resp:
        page = await resp.text()
    for text in (
        "demo-university",
        "team",
        "demo-free",
        "free",
        "README.md",
        "invited",
        "&lt;b&gt;",
    ):
        assert text in page
    assert "<b>x</b>" not in page


def test_ping_platform_satisfies_the_protocol() -> None:
    """The core test stand-in implements the same contract as the real emulators."""
    from sandbox.core.emulator import PlatformEmulator

    emulator: PlatformEmulator = PingPlatform()
    assert emulator.name == "discord"


async def test_urls_of_the_server(server: SandboxServer) -> None:
    """The server exposes its base, API and gateway URLs on the chosen port."""
    assert server.port > 0
    assert server.github_api_url == f"http://127.0.0.1:{server.port}/api/v3"
    assert server.discord_api_url.endswith("/api/v10")
    assert server.gateway_url == f"ws://127.0.0.1:{server.port}/gateway"


async def test_journal_cursor_does_not_consume_numbers(
    http: aiohttp.ClientSession, server: SandboxServer
) -> None:
    """`cursor()` marks a point in the journal; later requests come after it."""
    cursor = server.journal.cursor()
    async with http.get("/api/v3/orgs/demo-university"):
        pass
    assert [e.seq for e in server.journal.query(since=cursor)] == [cursor + 1]


def test_journal_keeps_sequence_order_when_answers_come_out_of_order() -> None:
    """A request numbered first and answered last is listed first, and the settled point
    stays below it while it is in flight: a reader paging by `since` neither skips it nor
    sees the later one twice (a test's "nothing written since" counted a write made before)."""
    journal = Journal(ManualClock())
    first, second = journal.next_seq(), journal.next_seq()
    journal.record(_entry(second))
    assert journal.settled() == first - 1
    assert [e.seq for e in journal.query(upto=journal.settled())] == []
    journal.record(_entry(first))
    assert journal.settled() == second == journal.cursor()
    assert [e.seq for e in journal.query()] == [first, second]


def _entry(seq: int) -> JournalEntry:
    return JournalEntry(
        seq=seq,
        time=0.0,
        platform="github",
        method="GET",
        path="/api/v3/x",
        query="",
        status=200,
        outcome="answered",
        request_id=str(seq),
        body=None,
        duration_ms=1.0,
        credential=None,
    )


async def test_journal_leaves_multipart_bodies_to_the_handler(
    http: aiohttp.ClientSession, server: SandboxServer
) -> None:
    """Multipart requests are summarised without consuming the body the emulator reads."""
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="a.csv")
    async with http.post("/api/v10/ping", data=form) as resp:
        assert resp.status == 200
    assert str(server.journal.query()[-1].body).startswith("<multipart")


async def test_journal_names_the_rate_limit_window_a_discord_call_counted_against(
    tmp_path: Path,
) -> None:
    """A bench or a test can tell which window each call used: the bucket (a configured
    rate's name, or the route of one with the default rate) and its major parameters (the
    server, the channel), as the Discord emulator counted it."""
    discord = DiscordSandbox(ManualClock())
    admin = DiscordConfig().admin_server
    assert admin is not None
    async with SandboxServer([discord], state_path=tmp_path / "state.json") as server:
        headers = {"Authorization": f"Bot {DiscordConfig().bot_token}", **server.control_headers}
        async with aiohttp.ClientSession(server.base_url, headers=headers) as http:
            async with http.get(f"/api/v10/guilds/{admin.guild_id}/channels") as resp:
                channels = {c["name"]: c["id"] for c in await resp.json()}
            log_channel = channels[admin.log_channel]
            message = f"/api/v10/channels/{log_channel}/messages"
            async with http.post(message, json={"content": "hello"}) as resp:
                assert resp.status == 200
            async with http.get("/_sandbox/requests") as resp:
                listed, posted = (await resp.json())["requests"]
    assert listed["rate_bucket"] == ["GET /guilds/{guild_id}/channels", f"{admin.guild_id}::"]
    assert posted["rate_bucket"] == ["message_create", f":{log_channel}:"]
