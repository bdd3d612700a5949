"""Benchmark: the built-in store at fleet size (issue 8, "Storage sized for a fleet").

Usage (PostgreSQL only: it measures pg_total_relation_size; it makes and drops its own
scratch database next to DATABASE_URL's):
    .venv/bin/python bench/storage.py [--servers 50] [--models 50] [--versions 2] [--hours 24]

Backfills `--hours` of scrapes at FLEET_SCRAPE_INTERVAL for the fleet (synthetic values, one
series per model version x per-model metric, plus a GPU's and the host's): hour by hour, the
blocks are bulk-inserted as `storage.store` encodes them, then the maintenance task's own
rollup and prune run at that simulated time, as beat would run them. Then it prints:
- bytes per series per day: the fleet tables' pg_total_relation_size (heap, TOAST, indexes)
  / series / days, both as kept (raw blocks only for FLEET_RAW_RETENTION) and as written;
- the 24 h history of one model's one metric through the API (the test client, the whole
  view), the first request, then median and p95 of 20 more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SCRATCH = "fleetdeck_bench_storage"
TABLES = ("fleet_block", "fleet_serieslayout", "fleet_chunk", "fleet_series", "fleet_rollupmark")


def scratch_database() -> tuple[str, str]:
    """(admin URL, scratch URL) beside DATABASE_URL's server."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fleetdeck")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/storage.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{SCRATCH}"))


def recreate(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        conn.execute(f"CREATE DATABASE {SCRATCH}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()

    admin_url, url = scratch_database()
    recreate(admin_url)
    os.environ["DATABASE_URL"] = url

    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from fleet import blocks, storage
    from fleet.catalog import METRICS
    from fleet.models import Block, Server

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    interval = float(settings.FLEET_SCRAPE_INTERVAL)
    per_model = [m.name for m in METRICS.values() if m.level == "model" and not m.label]
    per_server = [m.name for m in METRICS.values() if m.level == "server"]
    keys: list[blocks.Key] = [
        (f"model_{m:03d}", str(v + 1), metric, "")
        for m in range(args.models)
        for v in range(args.versions)
        for metric in per_model
    ]
    keys += [("", "", metric, "GPU-0" if METRICS[metric].label else "") for metric in per_server]
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=args.hours)
    servers = [
        Server.objects.create(name=f"bench-{i}", url=f"http://10.0.0.{i % 250}:8000")
        for i in range(args.servers)
    ]
    layouts = {s.id: blocks.layout_for(s, keys) for s in servers}
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 100, size=len(keys))
    per_hour = int(3600 / interval)

    print(
        f"backfilling {args.hours} h x {args.servers} servers x {len(keys)} series "
        f"({args.models} models x {args.versions} versions) at {interval:g} s ..."
    )
    written = first_hour_blocks = 0
    backfill_started = time.perf_counter()
    for hour in range(args.hours):
        hour_start = start + timedelta(hours=hour)
        for server in servers:
            layout = layouts[server.id]
            rows = []
            for i in range(per_hour):
                values = base * (1 + 0.1 * np.sin(i / 50)) + rng.normal(0, 1, size=len(keys))
                data = blocks.encode(layout, dict(zip(keys, values.tolist(), strict=True)))
                written += len(data)
                rows.append(
                    Block(
                        server=server,
                        at=hour_start + timedelta(seconds=i * interval),
                        layout_id=layout.id,
                        data=data,
                    )
                )
            Block.objects.bulk_create(rows, batch_size=500)
        moment = hour_start + timedelta(hours=1, minutes=3)
        storage.rollup(now=moment)
        storage.prune(now=moment)
        with connection.cursor() as cursor:
            # What autovacuum does within the hour beat takes in production: the space of
            # pruned blocks is reused, so the table holds FLEET_RAW_RETENTION, not a day.
            cursor.execute("VACUUM fleet_block, fleet_chunk")
            if hour == 0:  # one hour of blocks, before any prune: the growth rate of raw
                cursor.execute("SELECT pg_total_relation_size('fleet_block')")
                first_hour_blocks = cursor.fetchone()[0]
    backfill_s = time.perf_counter() - backfill_started

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        sizes = {}
        for table in TABLES:
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = cursor.fetchone()[0]
    series = len(keys) * args.servers
    days = args.hours / 24
    kept = sum(sizes.values())
    raw_hours = min(args.hours, settings.FLEET_RAW_RETENTION.total_seconds() / 3600)
    # As written (the growth before retention): the first hour's blocks for every hour.
    as_written = kept - sizes["fleet_block"] + first_hour_blocks * args.hours

    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    client = Client()
    client.force_login(admin)
    target = servers[len(servers) // 2]
    path = f"/api/servers/{target.id}/series/"
    params: dict[str, str | int] = {"metric": "inferences_per_s", "model": "model_007", "since": 86400}
    began = time.perf_counter()
    client.get(path, params)
    cold_ms = (time.perf_counter() - began) * 1000
    timings = []
    points = 0
    for _ in range(20):
        began = time.perf_counter()
        answer = client.get(path, params)
        timings.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.content[:200]
        points = len(answer.json()["points"])
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]

    print(f"backfill: {backfill_s:.0f} s, {written / 1e6:.0f} MB of block data written")
    print("| table | bytes (pg_total_relation_size) |\n|---|---|")
    for table, size in sizes.items():
        print(f"| {table} | {size:,} |")
    print("\n| what | figure | target |\n|---|---|---|")
    print(f"| series | {series:,} ({len(keys)} per server) | |")
    print(
        f"| storage per series per day, as kept (raw {raw_hours:g} h, minute rollups, indexes) "
        f"| {kept / series / days / 1024:.1f} KB | ≤ 200 KB |"
    )
    print(
        f"| storage per series per day, as written (24 h of raw blocks, rollups, indexes) "
        f"| {as_written / series / days / 1024:.1f} KB | ≤ 200 KB |"
    )
    print(
        f"| 24 h of one model's one metric through the API ({points} points) "
        f"| median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
        f"first (cold) {cold_ms:.0f} ms "
        f"| ≤ 100 ms |"
    )
    connection.close()
    recreate(admin_url)  # leave an empty scratch database, not gigabytes


if __name__ == "__main__":
    main()
