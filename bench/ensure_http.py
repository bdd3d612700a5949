"""Ensure of a READY model through real HTTP against one daphne web process (the Procfile's),
for `bench/ensure.py --http`: the fast path in front of Django (dashboard/fast_ensure.py),
and with `--compare` the same load on a second daphne with the fast path off
(FLEET_ENSURE_AUTH_TTL=0: every answer through Django and DRF).

The callers are coroutines of this process (aiohttp, one keep-alive connection each), so
that 50 callers cost the client little of the machine's CPU. All share one operator token;
one call first puts it in the web process's token cache, as a client's first call does.

- 1 caller x 200, back to back.
- Closed loop: `callers` callers, each `calls` calls back to back (the web process's capacity).
- Paced (open loop): each caller once every `period` s, the callers spread evenly over the
  period; latency from when each call was due, so a call held up behind others counts its
  wait (no coordinated omission). This is what clients calling ensure before their
  inferences see.

The web process's CPU per answer comes from /proc (user + system), the client's from
time.process_time. Import after django.setup().
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.live_stack import child_env, cpu_seconds, web

Result = dict[str, Any]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _call(session: aiohttp.ClientSession, url: str) -> None:
    async with session.post(url) as answer:
        body = await answer.json()
        assert answer.status == 200 and body["state"] == "READY", (answer.status, body)


async def _load(url: str, token: str, callers: int, calls: int, period: float) -> dict[str, Result]:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as session:
        await _call(session, url)  # the token's first call: Django answers and vouches for it
        results: dict[str, Result] = {}

        alone: list[float] = []
        began = time.perf_counter()
        for _ in range(200):
            started = time.perf_counter()
            await _call(session, url)
            alone.append(time.perf_counter() - started)
        results["1 caller x 200"] = {"latencies": alone, "wall": time.perf_counter() - began}

        async def closed(out: list[float]) -> None:
            for _ in range(calls):
                started = time.perf_counter()
                await _call(session, url)
                out.append(time.perf_counter() - started)

        # Each caller's connection opened before the clock starts.
        await asyncio.gather(*(_call(session, url) for _ in range(callers)))
        many: list[float] = []
        began = time.perf_counter()
        await asyncio.gather(*(closed(many) for _ in range(callers)))
        results[f"{callers} callers x {calls}, closed loop"] = {
            "latencies": many,
            "wall": time.perf_counter() - began,
        }

        async def paced(out: list[float], start: float) -> None:
            for k in range(calls):
                due = start + k * period
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await _call(session, url)
                out.append(time.perf_counter() - due)

        spaced: list[float] = []
        start = time.perf_counter() + 0.5
        began = time.perf_counter()
        await asyncio.gather(*(paced(spaced, start + i * period / callers) for i in range(callers)))
        label = f"{callers} callers paced 1 per {period:g} s each ({callers / period:.0f} calls/s)"
        results[label] = {"latencies": spaced, "wall": time.perf_counter() - began}
        return results


def measure(
    label: str, env: dict[str, str], logs: Path, url_path: str, token: str, load: tuple[int, int, float]
) -> Result:
    """Prints the figures; returns them (milliseconds) for `make bench`."""
    callers, calls, period = load
    with web(env, logs) as (base, pid):
        cpu_before, client_before = cpu_seconds(pid), time.process_time()
        results = asyncio.run(_load(base + url_path, token, callers, calls, period))
        web_cpu, client_cpu = cpu_seconds(pid) - cpu_before, time.process_time() - client_before
    answers = sum(len(r["latencies"]) for r in results.values()) + callers + 1
    print(f"{label}: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, result in results.items():
        latencies = result["latencies"]
        p50, p99 = pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000
        print(
            f"  {name:48s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
            f"  max {max(latencies) * 1000:7.1f} ms  ({len(latencies) / result['wall']:.0f} answers/s)"
        )
    print(
        f"  web process CPU {web_cpu / answers * 1000:.3f} ms per answer, "
        f"client {client_cpu / answers * 1000:.3f} ms ({answers} answers)"
    )
    alone, closed, paced = results.values()
    return {
        "callers": callers,
        "alone_p99_ms": pct(alone["latencies"], 0.99) * 1000,
        "closed_p50_ms": pct(closed["latencies"], 0.5) * 1000,
        "closed_p99_ms": pct(closed["latencies"], 0.99) * 1000,
        "closed_per_s": len(closed["latencies"]) / closed["wall"],
        "paced_p50_ms": pct(paced["latencies"], 0.5) * 1000,
        "paced_p99_ms": pct(paced["latencies"], 0.99) * 1000,
        "web_cpu_ms": web_cpu / answers * 1000,
        "load_average": os.getloadavg()[0],
    }


def run(
    server_id: int, token: str, logs: Path, *, callers: int, calls: int, period: float, compare: int
) -> None:
    """The fast path's figures; then, with compare > 0, Django's with that many callers.
    The last line is the figures as JSON (bench/run.py's ensure step reads it)."""
    path = f"/api/servers/{server_id}/models/mem128/ensure/"
    env = child_env(60.0)
    env["FLEET_ENSURE_AUTH_TTL"] = "5"
    figures = {
        "fast": measure("READY over HTTP, fast path", env, logs, path, token, (callers, calls, period))
    }
    if compare:
        env["FLEET_ENSURE_AUTH_TTL"] = "0"
        load = (compare, calls, period)
        figures["django"] = measure("READY over HTTP, through Django", env, logs, path, token, load)
    print(json.dumps(figures))
