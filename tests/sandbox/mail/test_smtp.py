"""The sandbox's SMTP server: mail sent with aiosmtplib is kept (envelope, headers, parts),
read back through the control API, saved with the world, and refused on demand (451)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest

from sandbox.core.clock import ManualClock
from sandbox.server import SandboxServer, SandboxStartError

from .conftest import message, send


async def test_mail_is_kept_and_listed_newest_first(
    sandbox: SandboxServer, control: aiohttp.ClientSession
) -> None:
    async with control.get("/_sandbox/mail/info") as r:
        assert await r.json() == {"host": "127.0.0.1", "port": sandbox.smtp_port}
    assert sandbox.smtp_port != 0
    html = "<p>Hello, <a href='http://127.0.0.1:8080/join/abc'>join here</a></p>"
    await send(sandbox, message(html=html))
    await send(sandbox, message(to="ta@example.edu", subject="Staff link", text="For staff"))

    async with control.get("/_sandbox/mail") as r:
        assert r.status == 200
        listed = (await r.json())["messages"]
    assert [m["subject"] for m in listed] == ["Staff link", "Join CS 101"]
    first = listed[1]
    assert first["mail_from"] == "course-bot@example.edu"
    assert first["rcpt_tos"] == ["student@example.edu"]
    assert first["from_header"] == "Course Bot <course-bot@example.edu>"
    assert first["date_header"] == "Thu, 01 Jan 2026 00:00:00 +0000"
    assert first["text"] == "Hello,\nyour link: http://127.0.0.1:8080/join/abc?x=1&y=2\n"
    assert first["html"] == html + "\n"
    assert ["Subject", "Join CS 101"] in first["headers"]
    assert first["peer"] == "127.0.0.1"

    async with control.get("/_sandbox/mail", params={"to": "TA@example.edu"}) as r:
        assert [m["subject"] for m in (await r.json())["messages"]] == ["Staff link"]
    async with control.delete("/_sandbox/mail") as r:
        assert r.status == 204
    async with control.get("/_sandbox/mail") as r:
        assert (await r.json())["messages"] == []


async def test_reading_the_mail_needs_the_secret(
    sandbox: SandboxServer, control: aiohttp.ClientSession
) -> None:
    await send(sandbox, message())
    async with aiohttp.ClientSession(sandbox.base_url) as anyone:
        async with anyone.get("/_sandbox/mail") as r:
            assert r.status == 401
            assert "X-Sandbox-Secret" in (await r.json())["message"]
        async with anyone.get("/_sandbox/mail", headers={"X-Sandbox-Secret": "guess"}) as r:
            assert r.status == 401
        async with anyone.delete("/_sandbox/mail") as r:
            assert r.status == 401
    async with control.get("/_sandbox/mail") as r:
        assert len((await r.json())["messages"]) == 1


async def test_refusal_switch_answers_451_then_recovers(
    sandbox: SandboxServer, control: aiohttp.ClientSession
) -> None:
    async with control.put("/_sandbox/mail/refusal", json={"active": True, "count": 1}) as r:
        assert r.status == 200
        assert await r.json() == {"active": True, "remaining": 1}
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send(sandbox, message(subject="first try"))
    assert refused.value.code == 451
    await send(sandbox, message(subject="second try"))
    async with control.get("/_sandbox/mail") as r:
        assert [m["subject"] for m in (await r.json())["messages"]] == ["second try"]

    async with control.put("/_sandbox/mail/refusal", json={"active": True}) as r:
        assert r.status == 200
    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPDataError):
            await send(sandbox, message())
    async with control.put("/_sandbox/mail/refusal", json={"active": False}) as r:
        assert await r.json() == {"active": False, "remaining": None}
    await send(sandbox, message())

    async with control.put("/_sandbox/mail/refusal", json={"active": "yes"}) as r:
        assert r.status == 400
        assert "active" in (await r.json())["message"]
    async with control.put("/_sandbox/mail/refusal", json={"active": True, "count": 0}) as r:
        assert r.status == 400
        assert "count" in (await r.json())["message"]


async def test_mail_is_saved_with_the_world(state_file: Path) -> None:
    clock = ManualClock(1_767_225_600.0)
    async with SandboxServer(clock=clock, state_path=state_file, save_interval=0) as server:
        await send(server, message(subject="kept"))
        # Saved after the message came in (by SMTP, not HTTP), before any stop.
        saved = json.loads(await asyncio.to_thread(state_file.read_text))
        assert [m["subject"] for m in saved["emulators"]["mail"]["messages"]] == ["kept"]
    async with SandboxServer(clock=clock, state_path=state_file) as server:
        mail = server.mail
        assert mail is not None
        assert [m.subject for m in mail.state.messages] == ["kept"]
        await send(server, message(subject="after restart"))
        assert [m.id for m in mail.state.messages] == [1, 2]


async def test_a_taken_smtp_port_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = SandboxServer(state_path=tmp_path / "s.json", smtp_port=port)
        with pytest.raises(SandboxStartError) as failed:
            await server.start()
    assert f"SMTP server cannot listen on 127.0.0.1:{port}" in str(failed.value)
    assert "\n" not in str(failed.value)
    # Nothing stays behind: the same state file can be used at once.
    async with SandboxServer(state_path=tmp_path / "s.json") as again:
        assert again.smtp_port != port
