"""Ensure of a READY model through real HTTP against one web process (the Procfile's uvicorn),
for `bench/ensure.py --http`: the fast path in front of Django (dashboard/fast_ensure.py),
and with `--compare` the same load on a second one with the fast path off
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
import re
import shutil
import subprocess
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


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, token: str, connections: int, seconds: float, logs: Path) -> Result:
    """A closed loop of `connections` keep-alive connections from wrk (C, one thread: the
    client's CPU is a small part of the machine's, unlike Python callers')."""
    if shutil.which("wrk") is None:
        raise SystemExit("--wrk: wrk is not installed (apt-get install wrk)")
    script = logs / "post.lua"
    script.write_text('wrk.method = "POST"\n')
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script),
               "-H", f"Authorization: Bearer {token}", url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (logs / "wrk.txt").write_text(out)
    quantiles = {
        q: float(v) * UNITS[u] for q, v, u in re.findall(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s)$", out, re.M)
    }
    answers = re.search(r"([0-9]+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", out)
    if non_2xx or answers is None or set(quantiles) != {"50", "99"}:
        raise SystemExit(f"wrk: not every answer was READY, or its output was not understood:\n{out}")
    return {
        "p50": quantiles["50"],
        "p99": quantiles["99"],
        "answers": int(answers.group(1)),
        "seconds": seconds,
    }


def measure(
    label: str,
    env: dict[str, str],
    logs: Path,
    url_path: str,
    token: str,
    load: tuple[int, int, float],
    wrk_seconds: float = 0,
) -> Result:
    """Prints the figures; returns them (milliseconds) for `make bench`."""
    callers, calls, period = load
    by_wrk = None
    with web(env, logs) as (base, pid):
        cpu_before, client_before = cpu_seconds(pid), time.process_time()
        results = asyncio.run(_load(base + url_path, token, callers, calls, period))
        client_cpu = time.process_time() - client_before
        if wrk_seconds:
            by_wrk = wrk(base + url_path, token, callers, wrk_seconds, logs)
        web_cpu = cpu_seconds(pid) - cpu_before
    answers = sum(len(r["latencies"]) for r in results.values()) + callers + 1
    python_answers = answers
    if by_wrk:
        answers += by_wrk["answers"]
    print(f"{label}: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, result in results.items():
        latencies = result["latencies"]
        p50, p99 = pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000
        print(
            f"  {name:48s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
            f"  max {max(latencies) * 1000:7.1f} ms  ({len(latencies) / result['wall']:.0f} answers/s)"
        )
    if by_wrk:
        print(
            f"  {callers} connections, closed loop (wrk, {wrk_seconds:g} s)".ljust(50)
            + f" p50 {by_wrk['p50']:7.2f} ms  p99 {by_wrk['p99']:7.2f} ms"
            + f"  ({by_wrk['answers'] / wrk_seconds:.0f} answers/s)"
        )
    print(
        f"  web process CPU {web_cpu / answers * 1000:.3f} ms per answer, "
        f"Python client {client_cpu / python_answers * 1000:.3f} ms ({answers} answers)"
    )
    alone, closed, paced = results.values()
    figures = {
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
    if by_wrk:
        figures.update(
            wrk_p50_ms=by_wrk["p50"], wrk_p99_ms=by_wrk["p99"], wrk_per_s=by_wrk["answers"] / wrk_seconds
        )
    return figures


def run(
    server_id: int,
    token: str,
    logs: Path,
    *,
    callers: int,
    calls: int,
    period: float,
    compare: int,
    wrk_seconds: float = 0,
) -> None:
    """The fast path's figures; then, with compare > 0, Django's with that many callers.
    The last line is the figures as JSON (bench/run.py's ensure step reads it)."""
    path = f"/api/servers/{server_id}/models/mem128/ensure/"
    env = child_env(60.0)
    env["FLEET_ENSURE_AUTH_TTL"] = "5"
    load = (callers, calls, period)
    figures = {"fast": measure("READY over HTTP, fast path", env, logs, path, token, load, wrk_seconds)}
    if compare:
        env["FLEET_ENSURE_AUTH_TTL"] = "0"
        load = (compare, calls, period)
        figures["django"] = measure("READY over HTTP, through Django", env, logs, path, token, load)
    print(json.dumps(figures))
