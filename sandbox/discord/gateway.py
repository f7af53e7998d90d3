"""The gateway WebSocket at `/gateway`: HELLO, IDENTIFY/RESUME, heartbeats and dispatches.

Text frames only (PLATFORM.md §3.3): discord.py inflates only binary frames, so `compress=` in the
query is ignored. Member events (GUILD_MEMBER_ADD/UPDATE/REMOVE) reach only sessions that
identified with the privileged GUILD_MEMBERS intent (PLATFORM.md §1.13), as on Discord.
Events from `DiscordState.emit` are numbered per session and buffered so that a RESUME after a
drop replays what was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.discord.models import Guild
from sandbox.discord.serialize import channel_json, guild_json, iso, member_json, user_json
from sandbox.discord.state import DiscordState

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS = 0, 1, 2, 6, 7, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
_KEPT_SESSIONS = 20
GUILD_MEMBERS_INTENT = 1 << 1
_INTENT_OF_EVENT = {
    "GUILD_MEMBER_ADD": GUILD_MEMBERS_INTENT,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS_INTENT,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS_INTENT,
}


def gateway_guild(state: DiscordState, guild: Guild) -> dict[str, Any]:
    """The full GUILD_CREATE payload, including the bot's own member (discord.py needs guild.me)."""
    users = state.world.users
    out = guild_json(guild)
    bot_member = guild.members.get(state.bot_id)
    out.update(
        {
            "unavailable": False,
            "member_count": len(guild.members),
            "large": False,
            "joined_at": iso(bot_member.joined_at if bot_member else guild.created_at),
            "channels": [channel_json(c) for c in guild.channels.values()],
            "threads": [],
            "members": [member_json(m, users[m.user_id]) for m in guild.members.values()],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }
    )
    return out


@dataclass
class Session:
    id: str
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    queue: asyncio.Queue[dict[str, Any] | None] | None = None
    intents: int = 0

    def wants(self, event: str) -> bool:
        needed = _INTENT_OF_EVENT.get(event, 0)
        return self.intents & needed == needed

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append(frame)
        if self.queue is not None:
            self.queue.put_nowait(frame)


class Gateway:
    """Accepts gateway connections and fans `DiscordState` events out to them."""

    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self.sessions: dict[str, Session] = {}
        state.subscribe(self._on_event)

    def reset(self) -> None:
        self.reconnect_all()
        self.sessions.clear()

    def _on_event(self, event: str, data: dict[str, Any], guild_id: int | None) -> None:
        for session in self.sessions.values():
            if session.wants(event):
                session.dispatch(event, data)

    def reconnect_all(self) -> int:
        """Ask every connected client to reconnect (op 7); they RESUME afterwards."""
        count = 0
        for session in self.sessions.values():
            if session.queue is not None:
                session.queue.put_nowait({"op": RECONNECT, "d": None})
                count += 1
        return count

    def connected(self) -> int:
        return sum(1 for s in self.sessions.values() if s.queue is not None)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(ws, queue))
        queue.put_nowait(
            {"op": HELLO, "d": {"heartbeat_interval": self.state.config.heartbeat_interval_ms}}
        )
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except json.JSONDecodeError:
                    await ws.close(code=4002, message=b"Decode error")
                    break
                op, data = frame.get("op"), frame.get("d")
                if op == HEARTBEAT:
                    # After a round trip's delay, in real time (the network's, not the
                    # emulator's clock): see `DiscordConfig.heartbeat_ack_delay_ms`.
                    asyncio.get_running_loop().call_later(
                        self.state.config.heartbeat_ack_delay_ms / 1000,
                        queue.put_nowait,
                        {"op": HEARTBEAT_ACK},
                    )
                elif op == IDENTIFY:
                    session = await self._identify(ws, request, queue, data)
                elif op == RESUME:
                    session = await self._resume(ws, queue, data)
                elif op == REQUEST_MEMBERS:
                    self._members_chunk(queue, data)
                elif op not in (3, 4):
                    await ws.close(code=4001, message=b"Unknown opcode")
        finally:
            if session is not None and session.queue is queue:
                session.queue = None
            queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _writer(
        self, ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any] | None]
    ) -> None:
        while (frame := await queue.get()) is not None:
            if ws.closed:
                return
            try:
                await ws.send_str(json.dumps(frame))
            except ConnectionError:
                return
            if frame.get("op") == RECONNECT:
                await ws.close(code=4000, message=b"Reconnect")
                return

    def _token_ok(self, data: Any) -> bool:
        token = str(data.get("token", "")) if isinstance(data, dict) else ""
        return token.removeprefix("Bot ") == self.state.config.bot_token

    async def _identify(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        queue: asyncio.Queue[dict[str, Any] | None],
        data: Any,
    ) -> Session | None:
        if not self._token_ok(data):
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = data.get("intents", 0) if isinstance(data, dict) else 0
        session = Session(
            id=secrets.token_hex(16), intents=intents if isinstance(intents, int) else 0
        )
        self.sessions[session.id] = session
        while len(self.sessions) > _KEPT_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
        state = self.state
        guilds = [g for g in state.world.guilds.values() if state.bot_id in g.members]
        ready = {
            "v": 10,
            "user": user_json(state.bot),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://{request.host}/gateway",
            "application": {"id": str(state.world.application_id), "flags": 0},
            "shard": [0, 1],
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
        }
        session.queue = queue
        session.dispatch("READY", ready)
        for guild in guilds:
            session.dispatch("GUILD_CREATE", gateway_guild(state, guild))
        log.info("gateway session %s identified", session.id)
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any] | None], data: Any
    ) -> Session | None:
        session = self.sessions.get(str(data.get("session_id"))) if isinstance(data, dict) else None
        if session is None or not self._token_ok(data):
            queue.put_nowait({"op": INVALID_SESSION, "d": False})
            return None
        last = int(data.get("seq") or 0)
        session.queue = queue
        for frame in list(session.buffer):
            if frame["s"] > last:
                queue.put_nowait(frame)
        session.dispatch("RESUMED", {})
        return session

    def _members_chunk(self, queue: asyncio.Queue[dict[str, Any] | None], data: Any) -> None:
        if not isinstance(data, dict):
            return
        guild = self.state.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        users = self.state.world.users
        chunk = {
            "guild_id": str(guild.id),
            "members": [member_json(m, users[m.user_id]) for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        queue.put_nowait({"op": DISPATCH, "t": "GUILD_MEMBERS_CHUNK", "s": None, "d": chunk})
