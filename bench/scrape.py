"""Benchmark: what one scrape costs, so FLEET_SCRAPE_INTERVAL=1 can be judged.

Usage (uses DATABASE_URL like the app; SQLite in var/ by default):
    .venv/bin/python bench/scrape.py [--scrapes 60] [--models 200]

Measures, on this machine:
1. parse + derive of a real Triton exposition (the demo repository), and of a synthetic one
   with --models models x 3 versions made by relabelling the real one;
2. the whole `scrape_server` task body (HTTP fetch, parse, derive, bulk insert, broadcast)
   against a real tritonserver under demo traffic, --scrapes times at 1 s intervals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from fleet import services, storage  # noqa: E402
from fleet.demo import traffic  # noqa: E402
from fleet.demo.localfleet import DEMO_MODELS_AT_START, DEMO_REPOSITORY, TritonProcess  # noqa: E402
from fleet.derive import derive, parse  # noqa: E402
from fleet.models import Server  # noqa: E402


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(label: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return f"| {label} | {len(ms)} | {statistics.median(ms):.2f} | {p95:.2f} | {ms[-1]:.2f} |"


def synthetic(text: str, models: int) -> str:
    """The real exposition's per-model lines, relabelled for `models` models x 3 versions."""
    lines = [ln for ln in text.splitlines() if 'model="fast"' in ln]
    out = []
    for m in range(models):
        for v in (1, 2, 3):
            for ln in lines:
                out.append(
                    ln.replace('model="fast"', f'model="model-{m}"').replace('version="1"', f'version="{v}"')
                )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scrapes", type=int, default=60)
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)

    triton = TritonProcess(DEMO_REPOSITORY, "bench", models=DEMO_MODELS_AT_START)
    triton.start()
    triton.wait_ready()
    stop = threading.Event()
    load = threading.Thread(
        target=traffic.run, args=([triton.http_url],), kwargs={"duration": 3600, "rate": 50, "stop": stop}
    )
    load.start()
    server = Server.objects.create(
        name=f"bench-{os.getpid()}", url=triton.http_url, metrics_url=triton.metrics_url
    )
    try:
        time.sleep(2)
        text = requests.get(triton.metrics_url, timeout=5).text
        big = synthetic(text, args.models)
        prev_small, prev_big = parse(text, 0.0), parse(big, 0.0)
        rows = [
            summary(
                f"parse+derive, demo exposition ({len(text)} B)",
                timed(lambda: derive(prev_small, parse(text, 1.0)), 200),
            ),
            summary(
                f"parse+derive, {args.models} models x 3 versions ({len(big) // 1024} KiB)",
                timed(lambda: derive(prev_big, parse(big, 1.0)), 20),
            ),
        ]
        scrape_ms = []
        for _ in range(args.scrapes):
            started = time.perf_counter()
            services.scrape_server(server.id)
            scrape_ms.append((time.perf_counter() - started) * 1000)
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
        points = len(storage.points(server))
        rows.append(
            summary("scrape_server (fetch, parse, store, broadcast), demo server under traffic", scrape_ms)
        )
        print("| what | runs | median ms | p95 ms | max ms |\n|---|---|---|---|---|")
        print("\n".join(rows))
        print(
            f"\npoints stored per scrape: {points / args.scrapes:.0f}; database: {server._state.db} "
            f"({django.db.connection.vendor})"
        )
    finally:
        stop.set()
        load.join()
        server.delete()
        triton.stop()


if __name__ == "__main__":
    main()
