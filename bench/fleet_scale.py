"""Benchmark: FleetDeck against a simulated fleet (issue 8), 50 servers x 50 models x 2 versions.

Usage (uses DATABASE_URL and REDIS_URL like the app):
    .venv/bin/python bench/fleet_scale.py [--servers 50] [--models 50] [--versions 2] [--rounds 3]
        [--steps scrape,live,render] [--viewers 200] [--slow 5] [--seconds 120]

Starts `manage.py sim_fleet` in its own process (so that the simulator's CPU is not charged
to FleetDeck) and registers its servers. Steps, each a function of its own:
- scrape: scrapes each server through `fleet.services` like the worker does, round after
  round at --interval: "scrape per server: X ms median" and the like;
- live: the overview's websocket as production runs it: one web process (uvicorn), the
  Celery worker and beat scraping the fleet at --interval, and --viewers overview sockets
  in one asyncio process here (bench/viewers.py), signed in with a session cookie, reading
  and acknowledging as the page does, plus --slow viewers that stop reading. Prints KB/s
  per viewer, frame delay (arrival minus the summary's scrape time) p50/p99, frames lost,
  and the web process's CPU;
- render: the overview's HTML (`GET /` through the whole Django stack, in process) with
  every server scraped: median and p95 ms, and its queries.
The processes use a Redis database of the benchmark's own (BENCH_REDIS_DB, default 12), so
that its worker takes no task and its viewers no frame of anything else on the Redis.
`target_rows(full)` runs live and render at the issue's size (or a CI size) for bench/run.py.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# What this process publishes (the scrape step) stays off the channel layer of anything
# else on this Redis.
os.environ.setdefault("FLEET_REDIS_PREFIX", "fleetdeck-bench")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.live_stack import (  # noqa: E402
    CHANNEL_PREFIX,
    child,
    child_env,
    cpu_seconds,
    redis_url,
    web,
    worker_and_beat,
)
from bench.viewers import Key, LiveFigures, watch  # noqa: E402
from fleet import services  # noqa: E402
from fleet.demo.machine import free_port_block  # noqa: E402
from fleet.models import Server  # noqa: E402

PREFIX = "bench-sim-"
VIEWER = "bench-viewer"


@dataclass
class Simulator:
    process: subprocess.Popen[str]
    port: int
    servers: int

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.port + i}"

    def cpu_seconds(self) -> float:
        """User + system CPU the simulator process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def simulator(
    servers: int, models: int, versions: int, seed: int, timeout: float = 60.0
) -> Iterator[Simulator]:
    """`manage.py sim_fleet` in a child process, listening once this yields."""
    port = free_port_block(servers)
    command = [
        sys.executable, str(ROOT / "manage.py"), "sim_fleet", f"--servers={servers}", f"--models={models}",
        f"--versions={versions}", f"--port={port}", f"--seed={seed}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("sim_fleet ready"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("sim_fleet did not get ready")
        else:
            raise RuntimeError(f"sim_fleet exited with {process.wait()}")
        yield Simulator(process, port, servers)
    finally:
        process.terminate()
        process.wait(timeout=10)


def register(sim: Simulator) -> list[Server]:
    """The simulated servers as fleet servers (any left from an interrupted run are replaced)."""
    Server.objects.filter(name__startswith=PREFIX).delete()
    return [
        Server.objects.create(name=f"{PREFIX}{i}", url=sim.url(i), metrics_url=f"{sim.url(i)}/metrics")
        for i in range(sim.servers)
    ]


@dataclass
class ScrapeTimes:
    first_ms: list[float] = field(default_factory=list)  # with the inventory: index, stats, every config
    steady_ms: list[float] = field(default_factory=list)
    failed: int = 0
    cpu_s: float = 0.0  # this process (FleetDeck's side) during the steady rounds
    sim_cpu_s: float = 0.0
    wall_s: float = 0.0


def scrape_rounds(servers: list[Server], sim: Simulator, rounds: int, interval: float) -> ScrapeTimes:
    """Scrape every server once per round, as the worker does; the first round is kept apart."""
    times = ScrapeTimes()
    started = time.monotonic()
    cpu, sim_cpu = time.process_time(), sim.cpu_seconds()
    for round_number in range(rounds + 1):
        round_started = time.monotonic()
        if round_number == 1:
            started, cpu, sim_cpu = round_started, time.process_time(), sim.cpu_seconds()
        for server in servers:
            t0 = time.perf_counter()
            ok = services.scrape_server(server.id)
            (times.first_ms if round_number == 0 else times.steady_ms).append(
                (time.perf_counter() - t0) * 1000
            )
            times.failed += not ok
        time.sleep(max(0.0, interval - (time.monotonic() - round_started)))
    times.wall_s = time.monotonic() - started
    times.cpu_s = time.process_time() - cpu
    times.sim_cpu_s = sim.cpu_seconds() - sim_cpu
    return times


def _stats(ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"{statistics.median(ordered):.1f} ms median (p95 {p95:.1f} ms, {len(ordered)} scrapes)"


def report_scrapes(times: ScrapeTimes, servers: int) -> list[str]:
    return [
        f"scrape per server: {_stats(times.steady_ms)}",
        f"first scrape per server (with index, statistics, configs): {_stats(times.first_ms)}",
        f"scrape CPU per server per scrape: {times.cpu_s * 1000 / max(1, len(times.steady_ms)):.1f} ms",
        f"failed scrapes: {times.failed}",
        f"simulator CPU: {times.sim_cpu_s / max(times.wall_s, 1e-9):.2f} core serving {servers} servers",
    ]


# --- The live overview: web, worker and beat, viewers ----------------------------------------


def viewer_cookie() -> str:
    """A session of a signed-in user, as a browser's Cookie header."""
    user = User.objects.filter(username=VIEWER).first() or User.objects.create_superuser(VIEWER)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@dataclass
class Live:
    figures: LiveFigures
    web_cores: float


def live_overview(servers: list[Server], interval: float, viewers: int, slow: int, seconds: float) -> Live:
    """The overview's websocket with the worker scraping the fleet and one web process.

    Each server is scraped once here first: the first scrape reads the inventory (index,
    statistics, every config), and the window should see steady ones."""
    for server in servers:
        services.scrape_server(server.id)
    env = child_env(interval)
    cookie = viewer_cookie()

    def warm(published: dict[Key, float]) -> bool:
        return len(published) >= len(servers)  # a round's worth of summaries

    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        logs = Path(tmp)
        out = logs / "reference.txt"
        listen = [sys.executable, "-m", "bench.viewers", redis_url(), CHANNEL_PREFIX, str(out)]
        ready = lambda: out.exists() and out.read_text().startswith("ready")  # noqa: E731
        with (
            worker_and_beat(env, logs),
            web(env, logs) as (base, pid),
            child(listen, env, ready, logs / "reference.log"),
        ):
            started, cpu = time.monotonic(), cpu_seconds(pid)
            url = f"{base.replace('http', 'ws', 1)}/ws/fleet/"
            timeout = 120 + 4.0 * len(servers)
            result = asyncio.run(watch(url, cookie, base, viewers, slow, seconds, warm, out, timeout))
            cores = (cpu_seconds(pid) - cpu) / (time.monotonic() - started)
    return Live(result, cores)


def relay_overview(servers: list[Server], interval: float, viewers: int, slow: int, seconds: float) -> Live:
    """The web process alone: the servers' stored summaries published again at the fleet's
    rate (len(servers) per interval, fresh times), without the worker's scraping CPU beside it."""
    rows = Server.objects.filter(id__in=[s.id for s in servers], summary__isnull=False)
    if not rows.exists():
        for _ in range(2):  # the second has rates, so its summaries have rankings
            for server in servers:
                services.scrape_server(server.id)
    summaries: list[dict[str, Any]] = [row.summary for row in rows if row.summary]
    env = child_env(interval)
    cookie = viewer_cookie()

    async def publish(stop: asyncio.Event) -> None:
        from channels_redis.core import RedisChannelLayer

        layer = RedisChannelLayer(hosts=[{"address": redis_url()}], prefix=f"{CHANNEL_PREFIX}:asgi")
        for n in itertools.count():
            if stop.is_set():
                return
            now = time.time()
            summary = {**summaries[n % len(summaries)], "at": now, "last_scrape_at": now}
            await layer.group_send("fleet", {"type": "fleet.summary", **summary})
            await asyncio.sleep(max(0.0, now + interval / len(summaries) - time.time()))

    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        logs = Path(tmp)
        out = logs / "reference.txt"
        listen = [sys.executable, "-m", "bench.viewers", redis_url(), CHANNEL_PREFIX, str(out)]
        ready = lambda: out.exists() and out.read_text().startswith("ready")  # noqa: E731
        with web(env, logs) as (base, pid), child(listen, env, ready, logs / "reference.log"):
            started, cpu = time.monotonic(), cpu_seconds(pid)
            url = f"{base.replace('http', 'ws', 1)}/ws/fleet/"
            result = asyncio.run(
                watch(url, cookie, base, viewers, slow, seconds, lambda p: len(p) >= 5, out, beside=publish)
            )
            cores = (cpu_seconds(pid) - cpu) / (time.monotonic() - started)
    return Live(result, cores)


def report_live(live: Live, interval: float) -> list[str]:
    f = live.figures
    return [
        f"overview websocket: {f.viewers} viewers (+{f.slow} that stop reading) on one web process, "
        f"{f.seconds:.0f} s, {f.published} summaries published "
        f"({f.published / f.seconds:.1f}/s at {interval:g} s)",
        f"overview websocket per viewer: {f.kb_per_s:.2f} KB/s mean, {f.kb_per_s_max:.2f} KB/s max",
        f"overview frame delay (arrival - scrape time): p50 {f.delay_p50_ms:.0f} ms, "
        f"p99 {f.delay_p99_ms:.0f} ms, max {f.delay_max_ms:.0f} ms",
        f"overview relay delay (arrival - arrival at a bare channel-layer listener): "
        f"p50 {f.relay_p50_ms:.0f} ms, p99 {f.relay_p99_ms:.0f} ms",
        f"overview frames lost: {f.lost} of {f.published * f.viewers}; reconnects {f.reconnects} "
        f"(close codes {f.close_codes}, {f.errors} failed connects); "
        f"slow viewers closed by the server: {f.slow_closed} of {f.slow}",
        f"web process CPU: {live.web_cores:.2f} core (whole run, viewers connecting included)",
    ]


# --- The overview's HTML ---------------------------------------------------------------------


@dataclass
class Render:
    ms: list[float]
    queries: int
    bytes: int

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return sorted(self.ms)[int(0.95 * (len(self.ms) - 1))]


def overview_render(repeats: int = 20) -> Render:
    """GET / through the whole stack (middleware, view, template) with the test client."""
    client = Client(HTTP_HOST="localhost")
    client.cookies.load(viewer_cookie())
    response = client.get("/")  # warm: templates compiled, connections open
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    return Render(times, len(queries.captured_queries), len(response.content))


def report_render(render: Render, servers: int) -> list[str]:
    return [
        f"overview HTML for {servers} servers: {render.median:.1f} ms median, p95 {render.p95:.1f} ms "
        f"({len(render.ms)} requests, {render.queries} queries, {render.bytes / 1024:.0f} KiB)"
    ]


# --- bench/run.py ------------------------------------------------------------------------------


def _websocket_row(what: str, live: Live) -> tuple[str, str, str, bool | None]:
    f = live.figures
    holds = f.kb_per_s_max <= 20 and f.delay_p99_ms <= 1000 and f.lost == 0
    return (
        what,
        "≤ 20 KB/s; p99 ≤ 1 s; 0 lost (200 viewers, one web process)",
        f"{f.kb_per_s:.1f} KB/s (max {f.kb_per_s_max:.1f}); delay p50 {f.delay_p50_ms:.0f} ms, "
        f"p99 {f.delay_p99_ms:.0f} ms (relay p99 {f.relay_p99_ms:.0f} ms); {f.lost} of "
        f"{f.published * f.viewers} lost; {f.slow_closed}/{f.slow} stalled viewers closed; "
        f"web {live.web_cores:.2f} core",
        holds,
    )


def target_rows(full: bool) -> list[tuple[str, str, str, bool | None]]:
    """The overview's rows of `make bench`: (what, target, measured, holds?)."""
    servers, models, versions, viewers, slow, seconds = (
        (50, 50, 2, 200, 5, 120.0) if full else (10, 10, 2, 50, 2, 30.0)
    )
    call_command("migrate", verbosity=0)
    size = "" if full else f" (CI size: {servers} servers x {models} models x {versions}, {viewers} viewers)"
    with simulator(servers, models, versions, seed=0) as sim:
        registered = register(sim)
        try:
            live = live_overview(registered, 5.0, viewers, slow, seconds)
            relay = relay_overview(registered, 5.0, viewers, slow, seconds)
            render = overview_render()
        finally:
            Server.objects.filter(id__in=[s.id for s in registered]).delete()
    for line in [*report_live(live, 5.0), "web process alone:", *report_live(relay, 5.0)]:
        print(line)
    print(*report_render(render, servers))
    return [
        _websocket_row(f"overview websocket, worker scraping beside it{size}", live),
        _websocket_row(f"overview websocket, web process alone (summaries replayed){size}", relay),
        (f"overview HTML for {servers} servers{size}", "≤ 150 ms",
         f"{render.median:.1f} ms median (p95 {render.p95:.1f})", render.median <= 150),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="steady rounds after the first")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between rounds (FLEET_SCRAPE_INTERVAL)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--steps", default="scrape,live,render", help="comma-separated: scrape, live, relay, render"
    )
    parser.add_argument("--viewers", type=int, default=200, help="overview sockets that read (live)")
    parser.add_argument("--slow", type=int, default=5, help="overview sockets that stop reading (live)")
    parser.add_argument("--seconds", type=float, default=120.0, help="the live step's measured window")
    args = parser.parse_args()
    steps = {step.strip() for step in args.steps.split(",")}
    call_command("migrate", verbosity=0)
    db = django.db.connection
    print(f"# fleet_scale: {args.servers} servers x {args.models} models x {args.versions} versions, "
          f"{args.interval:g} s interval; database {db.vendor} {db.settings_dict['NAME']}")  # fmt: skip
    with simulator(args.servers, args.models, args.versions, args.seed) as sim:
        servers = register(sim)
        try:
            if "scrape" in steps:
                times = scrape_rounds(servers, sim, args.rounds, args.interval)
                print("\n".join(report_scrapes(times, args.servers)))
            if "live" in steps:
                live = live_overview(servers, args.interval, args.viewers, args.slow, args.seconds)
                print("\n".join(report_live(live, args.interval)))
            if "relay" in steps:
                relay = relay_overview(servers, args.interval, args.viewers, args.slow, args.seconds)
                print("web process alone (stored summaries published again, no worker):")
                print("\n".join(report_live(relay, args.interval)))
            if "render" in steps:
                if not Server.objects.filter(id__in=[s.id for s in servers], summary__isnull=False).exists():
                    scrape_rounds(servers, sim, 1, args.interval)
                print("\n".join(report_render(overview_render(), args.servers)))
        finally:
            Server.objects.filter(id__in=[s.id for s in servers]).delete()


if __name__ == "__main__":
    main()
