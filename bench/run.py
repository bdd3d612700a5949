"""`make bench`: every target of issue 8, measured, as one table: what | target | measured | holds?

Usage (DATABASE_URL and REDIS_URL as for the app; PostgreSQL, Redis, Debian's chromium and
prometheus on the machine):
    .venv/bin/python bench/run.py            # CI size: small fleets, short windows (minutes)
    BENCH_FULL=1 .venv/bin/python bench/run.py   # or --full: issue 8's sizes (~30 min)
    .venv/bin/python bench/run.py --only parse,storage   # some steps only

Steps (each prints its own lines, then the table comes last):
- parse: bench/parse.py (fast parse+derive against prometheus_client);
- storage: bench/storage.py (24 h backfilled through the maintenance path; the API query);
- fleet: bench/fleet_live.py, web + worker + beat against the 50 x 50 x 2 simulated fleet at
  5 s (CPU, database + Redis growth, freshness, model page weight, time to first live point);
- fresh: the same with 20 servers x 100 versions at a 1 s interval (freshness);
- prometheus: the fleet step in PROMETHEUS_URL mode (figures for the hand-over in the docs);
- overview: the overview's websocket (KB/s per viewer, frame delay) and HTML render time,
  from bench/fleet_scale.py's functions where they exist;
- ensure: bench/ensure.py --http, ensure of a READY model through the web process with 50 callers,
  paced and in a closed loop, and 50 wrk connections where wrk is installed (issue 10).
The figures also go to var/benchmarks/bench.json. Targets are judged at any size; a CI-size
figure says so in its row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "var" / "benchmarks" / "bench.json"
STEPS = ("parse", "storage", "fleet", "fresh", "prometheus", "overview", "alerts", "ensure")


@dataclass
class Row:
    what: str
    target: str
    measured: str
    holds: bool | None  # None: informational, or not measured


@dataclass
class Sizes:
    full: bool

    def fleet(self) -> tuple[int, int, int, float]:  # servers, models, versions, window s
        return (50, 50, 2, 600.0) if self.full else (10, 10, 2, 45.0)

    def fresh(self) -> tuple[int, int, int, float]:
        return (20, 50, 2, 180.0) if self.full else (20, 10, 2, 30.0)

    def prometheus(self) -> tuple[int, int, int, float]:
        return (50, 50, 2, 300.0) if self.full else (10, 10, 2, 30.0)


def _script(args: list[str]) -> str:
    print(f"$ {' '.join(args)}", flush=True)
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    print(out.stdout + out.stderr[-3000:], flush=True)
    if out.returncode:
        raise RuntimeError(f"{args[0]} exited with {out.returncode}")
    return out.stdout


def step_parse(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    text = _script(["bench/parse.py", *([] if sizes.full else ["--runs", "5"])])
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        ratios = [re.match(r"([\d.]+)x", c) for c in cells[-2:]]
        if len(cells) == 8 and all(ratios) and cells[0] != "payload":
            alone, library = (float(m[1]) for m in ratios if m)  # medians (a minimum may follow)
            figures.setdefault("parse", []).append(
                {"payload": cells[0], "x_parser": alone, "x_library": library}
            )
            rows.append(Row(
                f"parse+derive, {cells[0]}", "≥ 4× prometheus_client",
                f"{alone:.1f}× its parser alone, {library:.1f}× its parse+derive (medians)", alone >= 4,
            ))  # fmt: skip
    if not rows:
        raise RuntimeError("bench/parse.py printed no ratios")
    return rows


def step_storage(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    args = (
        ["--servers", "5", "--hours", "24"]
        if sizes.full
        else ["--servers", "1", "--models", "10", "--hours", "2"]
    )
    text = _script(["bench/storage.py", *args])
    written = re.search(r"as written[^|]*\| ([\d.]+) KB", text)
    query = re.search(r"through the API \((\d+) points\) \| median ([\d.]+) ms, p95 ([\d.]+) ms", text)
    if not (written and query):
        raise RuntimeError("bench/storage.py printed no figures")
    figures["storage_backfill"] = {
        "kb_per_series_day_written": float(written[1]),
        "query_median_ms": float(query[2]),
    }
    size = "after 24 h of 5 servers" if sizes.full else "CI size: after 2 h of 1 server"
    return [
        Row(f"storage per series per day, backfill as written (bench/storage.py, {size})", "≤ 200 KB",
            f"{written[1]} KB", float(written[1]) <= 200),
        Row(f"24 h history, one model, one metric, through the API ({size})", "≤ 100 ms",
            f"median {query[2]} ms, p95 {query[3]} ms ({query[1]} points)", float(query[2]) <= 100),
    ]  # fmt: skip


def _fleet(
    kind: str, shape: tuple[int, int, int, float], interval: float, figures: dict[str, Any], **kw: Any
) -> Any:
    from bench.fleet_live import FleetConfig, describe, run_fleet

    servers, models, versions, seconds = shape
    print(f"# {kind}: {servers} x {models} x {versions} at {interval:g} s, {seconds:g} s window", flush=True)
    result = run_fleet(FleetConfig(servers, models, versions, interval, seconds, **kw))
    figures[kind] = describe(result)
    print(json.dumps(figures[kind], indent=1), flush=True)
    return result


def _load(r: Any) -> str:
    return f"load {r.load[0]:.1f}→{r.load[1]:.1f}"


def step_fleet(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    r = _fleet("fleet", sizes.fleet(), 5.0, figures, browser=True)
    c = r.config
    shape = f"{c.servers}×{c.models}×{c.versions}, {r.window_s:.0f} s, {_load(r)}"
    # The hourly rollup writes one chunk per series once an hour: a window that saw it counts
    # it 24 times a day, not once per window (a window without one says so).
    chunks = r.table_growth.get("fleet_chunk", 0)
    per_hour = chunks / max(1, r.hours_rolled) * 24 / max(1, r.series) / 1024
    db = r.per_series_day(r.db_growth - chunks) / 1024 + per_hour
    rd = r.per_series_day(r.redis_growth) / 1024
    vacuum = f"VACUUM each minute by the bench ({r.vacuums}×), autovacuum is off; " if r.vacuums else ""
    if not r.hours_rolled:
        vacuum += "no hourly rollup in the window, chunks not counted; "
    cpu = ", ".join(f"{k} {v:.2f}" for k, v in r.cpu.items())
    rows = [
        Row("storage growth per series per day (database + Redis)", "≤ 200 KB",
            f"{db + rd:.1f} KB (database {db:.1f} of which hourly chunks {per_hour:.1f}, Redis {rd:.1f}; "
            f"{vacuum}{r.series:,} series; {shape})",
            db + rd <= 200),
        Row("CPU of worker + beat + web", "≤ 0.5 core", f"{r.fleet_cores:.2f} core ({cpu}; "
            f"{r.blocks:,} of {c.servers * r.window_s / c.interval:,.0f} scrapes stored; {shape})",
            r.fleet_cores <= 0.5),
        Row("freshness at 5 s", "informational", f"{100 * r.fresh_share:.1f} % of servers fresh "
            f"(worst second {100 * r.fresh_worst:.0f} %)", None),
        Row("model page first load", "≤ 1.5 MB transferred",
            f"{r.page_bytes / 1e6:.3f} MB in {r.page_requests} requests", r.page_bytes <= 1.5e6),
    ]  # fmt: skip
    if r.first_live_s is not None and r.first_live_wait_s is not None:
        drawn = r.first_live_s - r.first_live_wait_s
        rows.append(Row("time to first live point at a 5 s interval (page open → live point drawn)", "≤ 2 s",
                        f"{r.first_live_s:.2f} s, of which {r.first_live_wait_s:.2f} s waiting for the next "
                        f"scrape ({drawn:.2f} s scrape → drawn)", None))  # fmt: skip
    return rows


def step_fresh(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    r = _fleet("fresh", sizes.fresh(), 1.0, figures, browser=True)
    c = r.config
    rows = [
        Row(f"{c.servers} servers × {c.models * c.versions} versions at a 1 s interval, servers fresh "
            "(last scrape ≤ 2 s old, sampled every second)", "≥ 99 %",
            f"{100 * r.fresh_share:.1f} % (worst second {100 * r.fresh_worst:.0f} %, "
            f"{r.fresh_samples} samples; CPU {r.fleet_cores:.2f} core; {_load(r)})", r.fresh_share >= 0.99),
    ]  # fmt: skip
    if r.first_live_s is not None:
        rows.append(Row("time to first live point at a 1 s interval (page open → live point drawn)", "≤ 2 s",
                        f"{r.first_live_s:.2f} s (of which {r.first_live_wait_s:.2f} s waiting for the next "
                        "scrape)", r.first_live_s <= 2))  # fmt: skip
    return rows


def step_prometheus(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    if not Path("/usr/bin/prometheus").exists():
        return [Row("PROMETHEUS_URL mode", "informational", "not measured: no /usr/bin/prometheus", None)]
    r = _fleet("prometheus", sizes.prometheus(), 5.0, figures, prometheus=True)
    c = r.config
    prom = r.per_series_day(r.prometheus_growth, r.prometheus_series) / 1024
    db = r.per_series_day(r.db_growth + r.redis_growth, r.prometheus_series) / 1024
    return [
        Row(f"PROMETHEUS_URL mode, {c.servers}×{c.models}×{c.versions} at 5 s: CPU", "informational",
            f"web+worker+beat {r.fleet_cores:.2f} core, Prometheus {r.cpu.get('prometheus', 0):.2f} core "
            f"({_load(r)})", None),
        Row("PROMETHEUS_URL mode: storage growth per series per day", "informational",
            f"Prometheus data dir {prom:.1f} KB (WAL), database + Redis {db:.1f} KB "
            f"({r.prometheus_series:,} series in Prometheus' head); "
            f"Prometheus RSS {r.prometheus_rss / 2**20:.0f} MiB", None),
    ]  # fmt: skip


def step_overview(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    """The overview's figures come from bench/fleet_scale.py (its own harness) when present."""
    import importlib

    scale = importlib.import_module("bench.fleet_scale")
    bench_rows: Callable[[bool], list[tuple[str, str, str, bool | None]]] | None = getattr(
        scale, "target_rows", None
    )
    if bench_rows is None:
        return [
            Row("overview websocket per viewer / frame delay p99 (200 viewers)", "≤ 20 KB/s; ≤ 1 s; 0 lost",
                "not measured: bench/fleet_scale.py has no target_rows() yet", None),
            Row("overview HTML for 50 servers", "≤ 150 ms", "not measured: see above", None),
        ]  # fmt: skip
    rows = [Row(*row) for row in bench_rows(sizes.full)]
    figures["overview"] = [row.__dict__ for row in rows]
    return rows


def step_alerts(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    """Issue 11: bench/alerts.py (evaluation's cost per scrape, same-scrape firing, firing to
    webhook through a real worker)."""
    servers, models, versions, _ = sizes.fleet()
    size = ["--servers", str(servers), "--models", str(models), "--versions", str(versions)]
    short = [] if sizes.full else ["--rounds", "2", "--deliveries", "10"]
    text = _script(["bench/alerts.py", *size, *short])
    got = json.loads(text.strip().splitlines()[-1])
    figures["alerts"] = got
    where = f"{servers} × {models} × {versions}{'' if sizes.full else ' (CI size)'}"
    p95 = got["delivery_p95_s"]
    return [
        Row(f"alert evaluation per scrape, 3 + 100 rules, {where}", "≤ 10 % of the scrape",
            f"{got['hook_ms']:.2f} ms = {100 * got['hook_share']:.1f} % (whole scrape "
            f"{got['scrape_ms_off']:.1f} → {got['scrape_ms_on']:.1f} ms)", got["hook_share"] <= 0.10),
        Row("condition met (after `for`) → firing", "the same scrape", "same scrape" if got["same_scrape"]
            else "later", bool(got["same_scrape"])),
        Row("firing → webhook delivered (real worker)", "p95 ≤ 2 s",
            "not measured" if p95 is None else f"p95 {p95:.3f} s", None if p95 is None else p95 <= 2.0),
    ]  # fmt: skip


def step_ensure(sizes: Sizes, figures: dict[str, Any]) -> list[Row]:
    """Issue 10: ensure of a READY model through real HTTP (bench/ensure.py --http, one
    web process (uvicorn) with the fast path in front of Django, 50 callers), and 50
    connections of wrk back to back (30 s; CI size 5 s) where wrk is installed."""
    calls = "40" if sizes.full else "10"
    command = ["bench/ensure.py", "--http", "--callers", "50", "--calls", calls]
    if shutil.which("wrk"):
        command += ["--wrk", "30" if sizes.full else "5"]
    got = json.loads(_script(command).strip().splitlines()[-1])["fast"]
    figures["ensure"] = got
    size = "" if sizes.full else " (CI size)"
    rows = [
        Row(
            f"ensure of a READY model, 50 callers paced at 1 call/s each{size}",
            "p99 ≤ 20 ms",
            f"p50 {got['paced_p50_ms']:.1f} ms, p99 {got['paced_p99_ms']:.1f} ms",
            got["paced_p99_ms"] <= 20,
        ),
        Row(
            f"the same, 50 Python callers in a closed loop, {calls} calls each{size}",
            "p99 ≤ 20 ms",
            f"p50 {got['closed_p50_ms']:.1f} ms, p99 {got['closed_p99_ms']:.1f} ms "
            f"({got['closed_per_s']:.0f} answers/s; web CPU {got['web_cpu_ms']:.2f} ms per answer)",
            got["closed_p99_ms"] <= 20,
        ),
    ]
    if "wrk_p99_ms" in got:
        rows.append(
            Row(
                f"the same, 50 wrk connections back to back for {command[-1]} s{size}",
                "p99 ≤ 20 ms",
                f"p50 {got['wrk_p50_ms']:.1f} ms, p99 {got['wrk_p99_ms']:.1f} ms "
                f"({got['wrk_per_s']:.0f} answers/s)",
                got["wrk_p99_ms"] <= 20,
            )
        )
    else:
        rows.append(
            Row(
                "the same, 50 wrk connections back to back",
                "p99 ≤ 20 ms",
                "not measured: wrk is not installed (apt-get install wrk)",
                None,
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    mark = {True: "yes", False: "**no**", None: "–"}
    lines = ["| what | target | measured | holds? |", "|---|---|---|---|"]
    lines += [f"| {r.what} | {r.target} | {r.measured} | {mark[r.holds]} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps of {STEPS}")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sizes = Sizes(args.full)
    steps: dict[str, Callable[[Sizes, dict[str, Any]], list[Row]]] = {
        "parse": step_parse, "storage": step_storage, "fleet": step_fleet, "fresh": step_fresh,
        "prometheus": step_prometheus, "overview": step_overview, "alerts": step_alerts,
        "ensure": step_ensure,
    }  # fmt: skip
    started_at = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    figures: dict[str, Any] = {"date": started_at, "full": args.full, "load_average_start": os.getloadavg()}
    rows: list[Row] = []
    failed = False
    for name in args.only.split(","):
        try:
            rows += steps[name.strip()](sizes, figures)
        except Exception as exc:  # one broken step must not hide the others' figures
            failed = True
            rows.append(Row(f"step {name}", "runs", f"failed: {exc}", False))
    figures["load_average_end"] = os.getloadavg()
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({**figures, "rows": [r.__dict__ for r in rows]}, indent=1))
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"\n## make bench ({'full' if args.full else 'CI'} size), {started_at}, {cores} cores, "
          f"{memory:.0f} GiB, load average {figures['load_average_start'][0]:.1f} at start\n")  # fmt: skip
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
