"""Benchmark harness: FleetDeck's own processes against a simulated fleet (issue 8 targets).

Runs what production runs, the Procfile's web (uvicorn), worker and beat, against `manage.py
sim_fleet` on a scratch database (beside DATABASE_URL's) and a private Redis database, for a
measured window after every server was scraped once. Optionally in PROMETHEUS_URL mode, with
Debian's /usr/bin/prometheus scraping the simulated servers at the same interval. Measures:
- CPU of web + worker + beat (each process tree, /proc utime+stime, reaped children included)
  and of Prometheus, in cores over the window;
- storage growth over the window: pg_database_size, the Redis database's keys (MEMORY USAGE),
  and Prometheus' data directory, per series per day;
- freshness, sampled every second: the share of servers whose last scrape is at most two
  intervals old;
- with a browser (built-in mode): a model page's first load in bytes transferred (fresh
  cache) and the time from opening it to its first live point.

Used by bench/run.py (`make bench`); `run_fleet(FleetConfig(...))` returns a FleetResult.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = "fleetdeck_bench_fleet"
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "13"))
PASSWORD = "bench-password-1"


def scratch_urls() -> tuple[str, str, str]:
    """(admin database URL, scratch database URL, private Redis URL) beside the app's."""
    db = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fleetdeck"))
    if not db.scheme.startswith("postgres"):
        sys.exit("the fleet benchmark measures PostgreSQL: set DATABASE_URL=postgres://...")
    redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return (
        urlunsplit(db._replace(path="/postgres")),
        urlunsplit(db._replace(path=f"/{SCRATCH}")),
        urlunsplit(redis._replace(path=f"/{REDIS_DB}")),
    )


ADMIN_URL, DB_URL, REDIS_URL = scratch_urls()
# The harness's own ORM and Celery client use the scratch database and the private Redis.
os.environ.update(DATABASE_URL=DB_URL, REDIS_URL=REDIS_URL, DJANGO_SETTINGS_MODULE="config.settings")
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop on the main thread
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from bench.fleet_scale import simulator  # noqa: E402
from bench.processes import (  # noqa: E402
    dir_bytes,
    prometheus_series,
    rss,
    start_processes,
    start_prometheus,
    stop,
    tree_cpu,
)
from fleet.demo.machine import free_port_block  # noqa: E402
from fleet.models import Block, Server  # noqa: E402


@dataclass
class FleetConfig:
    servers: int
    models: int
    versions: int
    interval: float
    seconds: float  # the measured window
    prometheus: bool = False
    browser: bool = False


@dataclass
class FleetResult:
    config: FleetConfig
    series: int = 0
    window_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # cores per process (web, worker, beat, prometheus)
    db_growth: int = 0
    blocks: int = 0  # scrapes stored in the window (one block row each)
    vacuums: int = 0  # VACUUMs the harness ran in autovacuum's place (0: autovacuum is on)
    hours_rolled: int = 0  # hour boundaries in the window: each makes one chunk per series
    table_growth: dict[str, int] = field(default_factory=dict)  # the tables that grew, bytes
    redis_growth: int = 0
    prometheus_growth: int = 0
    prometheus_rss: int = 0
    prometheus_series: int = 0  # Prometheus' head series (what it stores)
    fresh_share: float = 0.0
    fresh_worst: float = 0.0
    fresh_samples: int = 0
    page_bytes: int = 0
    page_requests: int = 0
    first_live_s: float | None = None
    first_live_wait_s: float | None = None  # of which: waiting for the next scrape
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average at start and end of the window

    @property
    def fleet_cores(self) -> float:
        return sum(v for k, v in self.cpu.items() if k in ("web", "worker", "beat"))

    def per_series_day(self, growth: int, series: int | None = None) -> float:
        return growth / max(1, series or self.series) / (self.window_s / 86400)


# ----------------------------------------------------------------------------- storage


def fresh_database() -> None:
    connections.close_all()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH}")
    call_command("migrate", verbosity=0)


def database_bytes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def table_bytes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        )
        return {name: int(size) for name, size in cursor.fetchall()}


def redis_bytes(client: redis.Redis) -> int:
    return sum(client.memory_usage(key) or 0 for key in client.scan_iter(count=1000))


# ----------------------------------------------------------------------------- sampling


class Freshness(threading.Thread):
    """Every second: how many servers were scraped within two intervals."""

    def __init__(self, ids: list[int], interval: float) -> None:
        super().__init__(daemon=True)
        self.ids, self.interval = ids, interval
        self.shares: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.wait(1.0):
                now = datetime.now(UTC)
                ages = Server.objects.filter(id__in=self.ids).values_list("last_scrape_at", flat=True)
                fresh = sum(1 for t in ages if t and (now - t).total_seconds() <= 2 * self.interval)
                self.shares.append(fresh / len(self.ids))
        finally:
            connection.close()


class Vacuum(threading.Thread):
    """`VACUUM` every minute (autovacuum's default naptime) where autovacuum is off, as on the
    development machine's PostgreSQL: otherwise every updated row's old versions stay on disk
    and the growth measured is that of a database nobody vacuums."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.halt = threading.Event()
        self.runs = 0

    def run(self) -> None:
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            if conn.execute("SHOW autovacuum").fetchone() != ("off",):
                return
            while not self.halt.wait(60.0):
                conn.execute("VACUUM")
                self.runs += 1


def wait_scraped(ids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Server.objects.filter(id__in=ids, last_scrape_at__isnull=True).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("not every simulated server was scraped: see the logs")
        time.sleep(1)


# ----------------------------------------------------------------------------- browser

RECORD_MARKS = """
window.__open = performance.timeOrigin / 1000;
window.__marks = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    window.__marks.push({id: m.target.id, at: Number(m.target.dataset.lastAt), seen: Date.now() / 1000});
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-last-at"]});
"""


def browse_model_page(base: str, server_id: int, model: str, interval: float, result: FleetResult) -> None:
    """A model page's first load (fresh cache) and its first live point after opening it."""
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

    get_user_model().objects.create_superuser("bench", "bench@example.com", PASSWORD)
    with sync_playwright() as playwright:
        browser: Any = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            login = browser.new_context(viewport=VIEWPORT, base_url=base)
            login.set_default_timeout(120_000)  # the machine may be loaded by the fleet itself
            page = login.new_page()
            page.goto("/login/")
            page.fill("input[name=username]", "bench")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            context = browser.new_context(viewport=VIEWPORT, base_url=base)
            context.add_cookies(login.cookies())
            context.set_default_timeout(120_000)
            page = context.new_page()
            page.add_init_script(RECORD_MARKS)
            sizes: list[int] = []
            page.on(
                "requestfinished",
                lambda r: sizes.append(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]),
            )
            page.goto(f"/servers/{server_id}/models/{model}/")
            # A point newer than anything the page opened with: a live one, from the socket.
            # The first mark is the page's seed; a newer point after it came live, by the socket.
            live = """() => { const marks = window.__marks.filter(m => m.id === 'chart-throughput');
                return marks.find(m => m.at > marks[0].at) || null; }"""
            page.wait_for_function(
                "document.getElementById('chart-throughput')?.dataset.points > 0", timeout=120_000
            )
            page.wait_for_load_state("networkidle")
            result.page_bytes, result.page_requests = sum(sizes), len(sizes)
            mark = page.wait_for_function(live, timeout=int((3 * interval + 30) * 1000)).json_value()
            opened = page.evaluate("window.__open")
            result.first_live_s = mark["seen"] - opened
            result.first_live_wait_s = max(0.0, mark["at"] - opened)
        finally:
            browser.close()


# ----------------------------------------------------------------------------- the run


def run_fleet(config: FleetConfig) -> FleetResult:
    result = FleetResult(config)
    fresh_database()
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="fleetdeck-bench-"))
    web_port = free_port_block(1)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "FLEET_SCRAPE_INTERVAL": f"{config.interval:g}", "FLEET_VAR_DIR": str(tmp), "PORT": str(web_port),
        "CELERY_LOG_LEVEL": "WARNING", "LOG_LEVEL": "WARNING", "WEB_LOG_LEVEL": "warning",
        "PYTHONUNBUFFERED": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }  # fmt: skip
    prometheus: subprocess.Popen[bytes] | None = None
    processes: dict[str, subprocess.Popen[bytes]] = {}
    with simulator(config.servers, config.models, config.versions, seed=0) as sim:
        try:
            servers = [
                Server.objects.create(name=f"sim-{i}", url=sim.url(i), metrics_url=f"{sim.url(i)}/metrics")
                for i in range(config.servers)
            ]
            ids = [s.id for s in servers]
            if config.prometheus:
                targets = [urlsplit(s.metrics_url).netloc for s in servers]
                prometheus, env["PROMETHEUS_URL"] = start_prometheus(targets, config.interval, tmp)
            processes = start_processes(env, tmp)
            wait_scraped(ids, timeout=300 + 3 * config.servers)
            time.sleep(2 * config.interval)  # past the first scrapes (with inventory) of each server

            pids = {name: p.pid for name, p in processes.items()}
            if prometheus:
                pids["prometheus"] = prometheus.pid
            fresh, vacuum = Freshness(ids, config.interval), Vacuum()
            vacuum.start()
            cpu0 = {name: tree_cpu(pid) for name, pid in pids.items()}
            db0, redis0, tables0 = database_bytes(), redis_bytes(store), table_bytes()
            blocks0 = Block.objects.count()
            prom0 = dir_bytes(tmp / "data") if prometheus else 0
            result.load = (os.getloadavg()[0], 0.0)
            started, wall = time.monotonic(), time.time()
            fresh.start()
            time.sleep(config.seconds)
            result.window_s = time.monotonic() - started
            result.hours_rolled = int(time.time() // 3600 - wall // 3600)
            cpu1 = {name: tree_cpu(pid) for name, pid in pids.items()}
            result.db_growth = database_bytes() - db0
            result.blocks = Block.objects.count() - blocks0
            grown = {name: size - tables0.get(name, 0) for name, size in table_bytes().items()}
            result.table_growth = {name: b for name, b in sorted(grown.items(), key=lambda t: -t[1]) if b > 0}
            result.redis_growth = redis_bytes(store) - redis0
            fresh.halt.set()
            vacuum.halt.set()
            fresh.join()
            result.vacuums = vacuum.runs
            result.load = (result.load[0], os.getloadavg()[0])
            result.cpu = {name: (cpu1[name] - cpu0[name]) / result.window_s for name in pids}
            result.fresh_share = statistics.fmean(fresh.shares) if fresh.shares else 0.0
            result.fresh_worst = min(fresh.shares, default=0.0)
            result.fresh_samples = len(fresh.shares)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM fleet_series")
                result.series = int(cursor.fetchone()[0])
            if prometheus:
                result.prometheus_growth = dir_bytes(tmp / "data") - prom0
                result.prometheus_rss = rss(prometheus.pid)
                result.prometheus_series = prometheus_series(env["PROMETHEUS_URL"])
            if config.browser:
                from fleet.demo.simulator import model_name

                browse_model_page(
                    f"http://127.0.0.1:{web_port}", ids[0], model_name(0), config.interval, result
                )
        except Exception:
            for log in sorted(tmp.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-1500:]}", file=sys.stderr)
            raise
        finally:
            stop(processes)
            if prometheus:
                prometheus.terminate()
                prometheus.wait(timeout=30)
            Server.objects.filter(name__startswith="sim-").delete()  # later steps share the database
            connections.close_all()
            shutil.rmtree(tmp, ignore_errors=True)
            store.flushdb()
    return result


def describe(r: FleetResult) -> dict[str, Any]:
    """The result as plain numbers (for var/benchmarks/bench.json and the docs)."""
    c = r.config
    return {
        "fleet": f"{c.servers}x{c.models}x{c.versions}",
        "interval_s": c.interval, "mode": "prometheus" if c.prometheus else "built-in",
        "window_s": round(r.window_s, 1), "series": r.series,
        "cpu_cores": {k: round(v, 3) for k, v in r.cpu.items()},
        "fleet_cores": round(r.fleet_cores, 3),
        "db_growth_bytes": r.db_growth, "table_growth_bytes": r.table_growth,
        "vacuums": r.vacuums, "hours_rolled": r.hours_rolled, "blocks": r.blocks,
        "redis_growth_bytes": r.redis_growth,
        "prometheus_growth_bytes": r.prometheus_growth, "prometheus_rss_bytes": r.prometheus_rss,
        "prometheus_series": r.prometheus_series,
        "fresh_share": round(r.fresh_share, 4), "fresh_worst": round(r.fresh_worst, 4),
        "fresh_samples": r.fresh_samples, "page_bytes": r.page_bytes, "page_requests": r.page_requests,
        "first_live_s": r.first_live_s, "first_live_wait_s": r.first_live_wait_s,
        "load_average": r.load,
    }  # fmt: skip
