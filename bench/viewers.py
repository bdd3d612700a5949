"""Websocket viewers for the benchmarks: many overview pages' sockets in one asyncio process.

Each viewer is an aiohttp websocket client signed in with a session cookie, reading and
acknowledging as static/dashboard/live.js does (an ack at most once a second). It records
the bytes it received and, per `fleet.summary`, when it arrived. A slow viewer acknowledges
once, then never reads again: the server must close it without the others noticing.

A reference receiver joins the fleet group on the channel layer directly, as a web process
would, in a process of its own (`python -m bench.viewers REDIS_URL PREFIX OUT`) so that the
viewers' work does not delay it: every summary published, and when, as near as a listener
can tell. Frame delay = a viewer's arrival minus the summary's scrape time (`at`, taken when
the worker read the metrics); relay delay = a viewer's arrival minus the reference's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

Key = tuple[int, float]  # (server_id, at): one summary


@dataclass
class Viewer:
    slow: bool = False
    bytes: int = 0
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (when, bytes)
    frames: dict[Key, float] = field(default_factory=dict)  # summary -> when it arrived
    connects: int = 0
    errors: int = 0  # connects that failed, sockets that broke
    closes: list[int | None] = field(default_factory=list)  # close codes from the server


async def view(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], viewer: Viewer, stop: asyncio.Event
) -> None:
    """One page's socket until `stop`, reconnecting after a close as the page does."""
    while not stop.is_set():
        try:
            async with session.ws_connect(url, headers=headers, heartbeat=None, max_msg_size=0) as ws:
                viewer.connects += 1
                if viewer.slow:
                    await _stall(ws, viewer, stop)
                    return
                await _read(ws, viewer, stop)
                if not stop.is_set():
                    viewer.closes.append(ws.close_code)
        except (aiohttp.ClientError, OSError):
            viewer.errors += 1
        if not stop.is_set():
            await asyncio.sleep(0.5)


async def _stall(ws: aiohttp.ClientWebSocketResponse, viewer: Viewer, stop: asyncio.Event) -> None:
    await ws.send_str(json.dumps({"type": "ack", "received": 0}))
    await stop.wait()  # reads nothing meanwhile: aiohttp stops reading the transport
    # Now read what is queued: a close from the server, if it sent one.
    with contextlib.suppress(TimeoutError):
        while (await ws.receive(timeout=2.0)).type == aiohttp.WSMsgType.TEXT:
            pass
        viewer.closes.append(ws.close_code)


async def _read(ws: aiohttp.ClientWebSocketResponse, viewer: Viewer, stop: asyncio.Event) -> None:
    received = 0
    acked_at = time.monotonic()
    while not stop.is_set():
        try:
            message = await ws.receive(timeout=1.0)
        except TimeoutError:
            continue
        if message.type != aiohttp.WSMsgType.TEXT:
            return
        now = time.time()
        size = len(message.data.encode())
        viewer.bytes += size
        viewer.arrivals.append((now, size))
        data = json.loads(message.data)
        if not str(data.get("type", "")).startswith("fleet."):
            continue
        received += 1
        if data["type"] == "fleet.summary":
            viewer.frames[(data["server_id"], data["at"])] = now
        if time.monotonic() - acked_at >= 1.0:
            await ws.send_str(json.dumps({"type": "ack", "received": received}))
            acked_at = time.monotonic()


async def reference(redis_url: str, prefix: str, out: Path) -> None:
    """Write "server_id at arrival" per summary published to the fleet group, until killed."""
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": 15}], prefix=f"{prefix}:asgi")
    channel = await layer.new_channel()
    await layer.group_add("fleet", channel)
    with out.open("w", buffering=1) as lines:
        lines.write("ready\n")
        while True:
            message = await layer.receive(channel)
            if message.get("type") == "fleet.summary":
                lines.write(f"{message['server_id']} {message['at']!r} {time.time()!r}\n")


def read_reference(out: Path) -> dict[Key, float]:
    published: dict[Key, float] = {}
    for line in out.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3:  # a line being written has fewer
            published[(int(parts[0]), float(parts[1]))] = float(parts[2])
    return published


@dataclass
class LiveFigures:
    viewers: int
    slow: int
    seconds: float
    published: int  # summaries published in the window (the reference receiver's count)
    kb_per_s: float  # per viewer, mean over the viewers
    kb_per_s_max: float
    delay_p50_ms: float  # arrival minus scrape time
    delay_p99_ms: float
    delay_max_ms: float
    relay_p50_ms: float  # arrival at a viewer minus arrival at the reference receiver
    relay_p99_ms: float
    lost: int  # (viewer, summary) pairs published in the window that a viewer never got
    reconnects: int  # of the reading viewers
    close_codes: dict[int | None, int]  # why the server closed reading viewers' sockets
    errors: int  # reading viewers' failed connects (retried) and broken sockets
    slow_closed: int  # slow viewers the server closed


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def figures(viewers: list[Viewer], published: dict[Key, float], start: float, end: float) -> LiveFigures:
    """The window [start, end) of a run; a summary published in it may arrive after `end`."""
    readers = [v for v in viewers if not v.slow]
    window = {key for key, when in published.items() if start <= when < end}
    seconds = end - start
    rates = [sum(size for when, size in v.arrivals if start <= when < end) / seconds / 1024 for v in readers]
    got = [(v.frames[key], key) for v in readers for key in window if key in v.frames]
    delays = sorted(1000 * (when - key[1]) for when, key in got)
    relay = sorted(1000 * (when - published[key]) for when, key in got)
    return LiveFigures(
        viewers=len(readers),
        slow=len(viewers) - len(readers),
        seconds=seconds,
        published=len(window),
        kb_per_s=statistics.fmean(rates) if rates else 0.0,
        kb_per_s_max=max(rates, default=0.0),
        delay_p50_ms=_pct(delays, 0.50),
        delay_p99_ms=_pct(delays, 0.99),
        delay_max_ms=delays[-1] if delays else float("nan"),
        relay_p50_ms=_pct(relay, 0.50),
        relay_p99_ms=_pct(relay, 0.99),
        lost=len(readers) * len(window) - len(got),
        reconnects=sum(max(0, v.connects - 1) for v in readers),
        close_codes=dict(Counter(code for v in readers for code in v.closes)),
        errors=sum(v.errors for v in readers),
        slow_closed=sum(1 for v in viewers if v.slow and v.closes),
    )


async def watch(
    url: str,
    cookie: str,
    origin: str,
    count: int,
    slow: int,
    seconds: float,
    warmup: Callable[[dict[Key, float]], bool],
    reference_out: Path,
    warmup_timeout: float = 120.0,
    tail: float = 15.0,
    beside: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None = None,
) -> LiveFigures:
    """Open `count` reading and `slow` slow viewers; once `warmup` accepts what the
    reference receiver (writing `reference_out`) has seen and every viewer is connected,
    measure for `seconds`, then let what was published in the window arrive for `tail`
    seconds more (a page more than 10 s behind is closed anyway). `beside(stop)` runs
    meanwhile (a publisher)."""
    stop = asyncio.Event()
    viewers = [Viewer() for _ in range(count)] + [Viewer(slow=True) for _ in range(slow)]
    headers = {"Cookie": cookie, "Origin": origin}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [asyncio.create_task(view(session, url, headers, v, stop)) for v in viewers]
        if beside is not None:
            tasks.append(asyncio.create_task(beside(stop)))
        try:
            deadline = time.monotonic() + warmup_timeout
            while not (warmup(read_reference(reference_out)) and all(v.connects for v in viewers)):
                if time.monotonic() > deadline:
                    published = len(read_reference(reference_out))
                    connected = sum(1 for v in viewers if v.connects)
                    raise TimeoutError(
                        f"after {warmup_timeout:.0f} s, {published} summaries were published and "
                        f"{connected} of {len(viewers)} viewers had connected"
                    )
                await asyncio.sleep(0.5)
            start = time.time()
            await asyncio.sleep(seconds)
            end = time.time()
            await asyncio.sleep(tail)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    return figures(viewers, read_reference(reference_out), start, end)


if __name__ == "__main__":
    asyncio.run(reference(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
