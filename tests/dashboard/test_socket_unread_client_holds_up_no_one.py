"""Against the real web process (the Procfile's uvicorn, whose send waits while a client's
buffer is full): a client that stops reading holds up no other socket of its group, and once
MOST_QUEUED frames wait for it, nothing more is queued for it and it is closed with
CLOSE_BEHIND, which it reads when it reads again.

Vera's first socket is a raw TCP client with a tiny receive buffer that completes the
websocket handshake and then reads nothing; her second reads every frame. Frames of 64 KiB
are published to the overview's group faster than the first can take them."""

from __future__ import annotations

import asyncio
import copy
import socket
import struct
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from dashboard.consumers import CLOSE_BEHIND, MOST_QUEUED
from fleet.broadcast import FLEET_GROUP
from tests.browser import start_asgi_server, stop_asgi_server
from tests.dashboard.sockets import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

FRAMES = MOST_QUEUED + 150  # past what the kernel's buffers and the queue hold together
PAD = "x" * 65536
EVERY = 0.02  # seconds between frames


def handshake(base: str, cookie: str) -> socket.socket:
    """A websocket on /ws/fleet/ whose client reads nothing after the 101."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET /ws/fleet/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {base}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # byte by byte: not one byte of the first frame is read
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def read_frames(sock: socket.socket, timeout: float) -> tuple[int, int | None]:
    """Everything the server sent: (text frames, the close code or None)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    sock.settimeout(timeout)
    texts = 0
    try:
        while True:
            first, second = exactly(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", exactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", exactly(8))[0]
            payload = exactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                return texts, struct.unpack("!H", payload[:2])[0]
            if opcode in (0x1, 0x0):
                texts += first >> 7  # a message's last fragment
    except (TimeoutError, EOFError):
        return texts, None


def test_it_feeds_the_group_while_one_client_reads_nothing(viewer, tmp_path: Path, settings: Any) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    layer: dict[str, Any] = copy.deepcopy(django_settings.CHANNEL_LAYERS["default"])
    layer["CONFIG"]["prefix"] = f"{prefix}:asgi"
    settings.CHANNEL_LAYERS = {"default": layer}
    server = start_asgi_server(tmp_path, env={"FLEET_REDIS_PREFIX": prefix})
    cookie = session_cookie(viewer)
    stalled = handshake(server.url, cookie)

    async def scenario() -> tuple[list[int], list[float]]:
        got: list[int] = []
        late: list[float] = []  # how long after its publication each frame arrived
        sent_at: dict[int, float] = {}
        headers = {"Cookie": cookie, "Origin": server.url}
        url = server.url.replace("http://", "ws://") + "/ws/fleet/"
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, headers=headers, heartbeat=None, max_msg_size=0) as reader,
        ):

            async def read_all() -> None:
                while len(got) < FRAMES:
                    message = await reader.receive_json(timeout=20)
                    got.append(message["n"])
                    late.append(time.monotonic() - sent_at[message["n"]])

            reading = asyncio.create_task(read_all())
            channel_layer = get_channel_layer()
            await asyncio.sleep(0.5)  # both sockets joined the group
            for n in range(FRAMES):
                sent_at[n] = time.monotonic()
                await channel_layer.group_send(FLEET_GROUP, {"type": "fleet.summary", "n": n, "pad": PAD})
                await asyncio.sleep(EVERY)
            await asyncio.wait_for(reading, timeout=30)
        return got, late

    try:
        got, late = async_to_sync(scenario)()
        texts, close = read_frames(stalled, timeout=10)  # reading again: what was kept, then the close
    finally:
        stalled.close()
        stop_asgi_server(server)
    assert got == list(range(FRAMES))
    assert max(late) < 5.0, f"a frame reached the reading socket {max(late):.1f} s after it was published"
    assert close == CLOSE_BEHIND, (texts, close, server.log.read_text()[-3000:])
    assert texts < FRAMES
