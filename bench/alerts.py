"""Benchmark (issue 11): what alert evaluation adds to a scrape, and how long a firing alert
takes to reach a webhook.

Usage (DATABASE_URL and REDIS_URL as for the app; PostgreSQL and Redis on the machine):
    .venv/bin/python bench/alerts.py [--servers 50 --models 50 --versions 2 --rounds 6]

1. Scrape cost: the simulated fleet (fleet/demo/simulator_http.py) registered and scraped
   (services.scrape_server: what the scrape task runs, its own figures' Redis write
   included) in rounds, each server once per round, alternating rounds with evaluation off
   (the hook replaced by a no-op: the baseline) and on, with the 3 default rules plus 100
   more (queue time and failure rate at several thresholds, fleet-wide, by label selector,
   per model).
   The simulated models queue, so queue-time rules fire and their causes are computed.
2. Same scrape: a rule with for 0 fires in the very scrape that meets it.
3. Firing to webhook: dead servers fire server_down one by one; a real Celery worker, the
   Procfile's notify worker (threads, the notify queue), delivers each to a loopback
   receiver; the delay from fired_at to the receiver's clock (both this machine's).
The last line is JSON for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Queues of this run's own (as the tests have): no backlog left in a shared Redis by another
# benchmark, and no other worker on it, can take or hold back this run's deliveries.
os.environ.setdefault("FLEET_CELERY_QUEUE", f"bench-alerts-{os.getpid()}")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from fleet import own_stats, services  # noqa: E402
from fleet.alerting import evaluate  # noqa: E402
from fleet.alerting.defaults import default_rules  # noqa: E402
from fleet.demo.machine import free_port_block  # noqa: E402
from fleet.demo.simulator import SimOptions  # noqa: E402
from fleet.demo.simulator_http import SimFleet  # noqa: E402
from fleet.models import Alert, AlertRule, Server, Webhook, WebhookDelivery  # noqa: E402


def extra_rules(models: int, noisy: bool = False) -> list[dict[str, object]]:
    """100 rules: queue time above 1..50 ms and failures above 0.1..5/s (a few hold on the
    simulated fleet); `noisy`: above 10..500 µs and 0.01..0.5/s (hundreds hold, pending)."""
    out: list[dict[str, object]] = []
    for i in range(100):
        kind = "queue_time" if i % 2 == 0 else "failure_rate"
        scale = 1.0 if noisy else 100.0
        threshold = 10.0 * (i + 1) * scale if kind == "queue_time" else 0.01 * (i + 1) * scale / 10
        rule: dict[str, object] = {"name": f"bench {i}", "kind": kind, "threshold": threshold, "for_s": 30.0}
        if i % 3 == 1:
            rule["selector"] = {"zone": "a" if i % 2 else "b"}
        elif i % 3 == 2:
            rule["model"] = f"model-{i % models:03d}"
        out.append(rule)
    return out


HOOK_MS: list[float] = []  # evaluation's own time in each scrape with it on
EXPORT_MS: list[float] = []  # of which: the saturation figures (the busy ratio per model)
# The scraping thread's CPU (time.thread_time) in the hook and in whole scrapes off/on:
# steadier than wall time on a shared machine. Not in it: PostgreSQL's and Redis' own work,
# the simulated fleet (a thread of this process) and the channel layer's sends (asgiref
# runs them in a thread of its own), so the share it gives is an upper bound.
HOOK_CPU_MS: list[float] = []
# The statements each hook ran: one is the steady state (the evaluation's one query, nothing
# written); more is a scrape where alerts opened, fired, resolved or a cache was filled.
HOOK_STATEMENTS: list[int] = []
SCRAPE_CPU_MS: dict[bool, list[float]] = {False: [], True: []}


def scrape_rounds(servers: list[int], rounds: int) -> tuple[list[float], list[float]]:
    hook = evaluate.after_scrape
    off: list[float] = []
    on: list[float] = []

    busy = evaluate._busy

    def timed_export(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return busy(*args)
        finally:
            EXPORT_MS[-1] += (time.perf_counter() - start) * 1000

    # The per-model figures come from the scrape (its summary's rankings need them, on or
    # off) and the saturation figures ride in the scrape's own Redis write (own_stats.
    # record_scrape, on or off): what is left of the export is the busy ratio per model.
    evaluate._busy = timed_export  # type: ignore[assignment]

    def count(execute: Any, *args: Any) -> Any:
        HOOK_STATEMENTS[-1] += 1
        return execute(*args)

    def timed_hook(*args: object, **kwargs: object) -> object:
        EXPORT_MS.append(0.0)
        HOOK_STATEMENTS.append(0)
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            with connection.execute_wrapper(count):
                return hook(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            HOOK_MS.append((time.perf_counter() - start) * 1000)
            HOOK_CPU_MS.append((time.thread_time() - cpu) * 1000)

    for i in range(2 * rounds):
        enabled = i % 2 == 1
        services.evaluate.after_scrape = timed_hook if enabled else (lambda *a, **k: None)  # type: ignore[assignment]
        for server_id in servers:
            start, cpu = time.perf_counter(), time.thread_time()
            services.scrape_server(server_id)
            (on if enabled else off).append((time.perf_counter() - start) * 1000)
            SCRAPE_CPU_MS[enabled].append((time.thread_time() - cpu) * 1000)
    services.evaluate.after_scrape = hook
    evaluate._busy = busy
    return off, on


def receiver() -> tuple[str, list[tuple[float, dict[str, object]]], ThreadingHTTPServer]:
    got: list[tuple[float, dict[str, object]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append((time.time(), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/hook", got, httpd


def delivery_delays(count: int) -> list[float]:
    """Deliveries by a notify worker as the Procfile runs it (threads, the notify queue)."""
    from tests.celery_process import start_worker, stop_group

    url, got, httpd = receiver()
    Webhook.objects.all().delete()
    Webhook.objects.create(url=url, format="json")
    AlertRule.objects.create(name="bench down", kind="server_down", for_s=0)
    with tempfile.TemporaryDirectory() as tmp:
        worker = start_worker(
            Path(tmp), "bench-alerts", beat=False, queues=[settings.FLEET_NOTIFY_QUEUE], pool="threads"
        )
        try:
            dead = [
                Server.objects.create(name=f"bench-dead-{i}", url=f"http://127.0.0.1:{free_port_block(1)}")
                for i in range(count)
            ]
            for server in dead:
                services.scrape_server(server.id)
                time.sleep(0.2)
            deadline = time.monotonic() + 60
            while len(got) < count and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop_group(worker.popen)
            httpd.shutdown()
            # The dead servers' first scrapes (fleet/signals.py) had no worker: drop the queues.
            own_stats._client().delete(*(queue.name for queue in settings.CELERY_TASK_QUEUES))
    delays = []
    for at, body in got:
        alert = body["alert"]
        assert isinstance(alert, dict)
        fired = datetime.fromisoformat(str(alert["fired_at"]).replace("Z", "+00:00"))
        delays.append(at - fired.astimezone(UTC).timestamp())
    # Where the time went: firing -> the delivery row (notify, on commit) -> sent (the worker);
    # and whether any delivery needed a second attempt (its backoff: 2 s, then 4 s).
    rows = WebhookDelivery.objects.select_related("alert").exclude(sent_at=None)
    queued = [(d.created_at - d.alert.fired_at).total_seconds() for d in rows if d.alert.fired_at]
    taken = [(d.sent_at - d.created_at).total_seconds() for d in rows if d.sent_at]
    if queued and taken:
        split = f"p50 {statistics.median(queued):.3f} s, {statistics.median(taken):.3f} s"
        print(f"| fired -> queued, queued -> sent | | {split} |")
    retried = WebhookDelivery.objects.filter(attempts__gt=1)
    errors = sorted(set(retried.values_list("last_error", flat=True)))
    print(f"| deliveries with more than one attempt | {retried.count()} | {errors} |")
    return delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--noisy", action="store_true", help="thresholds most models exceed")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    Server.objects.all().delete()
    AlertRule.objects.all().delete()
    Webhook.objects.all().delete()  # a previous run's: its deliveries would go to a dead port
    for fields in default_rules(5.0):
        AlertRule.objects.create(builtin=True, **fields)
    for fields in extra_rules(args.models, args.noisy):
        AlertRule.objects.create(**fields)
    options = SimOptions(servers=args.servers, models=args.models, versions=args.versions)
    with SimFleet(options, free_port_block(args.servers)) as fleet:
        ids = [
            Server.objects.create(
                name=f"sim-{i}",
                url=fleet.url(i),
                metrics_url=fleet.metrics_url(i),
                labels={"zone": "a" if i % 2 else "b"},
            ).id
            for i in range(args.servers)
        ]
        # Inventory with every config (an inventory read fetches at most
        # FLEET_CONFIG_READS_PER_INVENTORY of them), then the first baseline. No inventory
        # read in the timed rounds: one takes 2-5 times a scrape, and where the 30 s
        # interval put them (a whole round, off or on, as the run's pace fell) moved the
        # median of that side by half or more.
        reads = -(-args.models // settings.FLEET_CONFIG_READS_PER_INVENTORY)
        for server_id in ids:
            for _ in range(reads):
                services.refresh_inventory(Server.objects.get(id=server_id))
            services.scrape_server(server_id)
        # A second scrape each, evaluation off: a server's first rates create its series rows
        # (storage's one-time work, 2-3 times a scrape), which landed in the first timed round.
        hook, evaluate.after_scrape = evaluate.after_scrape, lambda *a, **k: None
        try:
            for server_id in ids:
                services.scrape_server(server_id)
        finally:
            evaluate.after_scrape = hook
        interval, settings.FLEET_INVENTORY_INTERVAL = settings.FLEET_INVENTORY_INTERVAL, 1e9
        try:
            off, on = scrape_rounds(ids, args.rounds)
        finally:
            settings.FLEET_INVENTORY_INTERVAL = interval
    overhead = statistics.median(on) / statistics.median(off) - 1
    open_alerts = Alert.objects.filter(state__in=Alert.OPEN_STATES).count()
    print(f"| scrape, evaluation off | {len(off)} | median {statistics.median(off):.2f} ms |")
    median_on = statistics.median(on)
    print(f"| scrape, 103 rules | {len(on)} | median {median_on:.2f} ms ({open_alerts} open alerts) |")
    print(f"| overhead | | {100 * overhead:+.1f} % |")
    hook_ms = statistics.median(HOOK_MS)
    share = hook_ms / statistics.median(off)
    own = f"median {hook_ms:.2f} ms = {100 * share:.1f} % of a scrape"
    print(f"| evaluation's own time | {len(HOOK_MS)} | {own} |")
    cpu_off, cpu_hook = statistics.median(SCRAPE_CPU_MS[False]), statistics.median(HOOK_CPU_MS)
    cpu = f"scrape off {cpu_off:.2f} ms, on {statistics.median(SCRAPE_CPU_MS[True]):.2f} ms; evaluation"
    cpu += f" {cpu_hook:.2f} ms = {100 * cpu_hook / cpu_off:.1f} %"
    print(f"| CPU of the scraping thread (medians) | | {cpu} |")
    for label, steady in (("nothing written (one statement)", True), ("writes or a cache fill", False)):
        hooks = zip(HOOK_MS, HOOK_CPU_MS, HOOK_STATEMENTS, strict=True)
        picked = [(ms, c) for ms, c, n in hooks if (n <= 1) == steady]
        if picked:
            wall, own_cpu = statistics.median(p[0] for p in picked), statistics.median(p[1] for p in picked)
            part = f"median {wall:.2f} ms = {100 * wall / statistics.median(off):.1f} %, CPU {own_cpu:.2f} ms"
            print(f"| evaluation, scrapes with {label} | {len(picked)} | {part} |")
    export_ms = statistics.median(EXPORT_MS)
    rules_ms = statistics.median(h - e for h, e in zip(HOOK_MS, EXPORT_MS, strict=True))
    rules_share = rules_ms / statistics.median(off)
    split = f"export {export_ms:.2f} ms; the rules {rules_ms:.2f} ms = {100 * rules_share:.1f} %"
    print(f"| of which the saturation export (busy ratio per model) | | {split} |")

    AlertRule.objects.all().delete()
    Server.objects.all().delete()
    delays = sorted(delivery_delays(args.deliveries))
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else None
    if delays:
        print(
            f"| firing -> webhook | {len(delays)} | p50 {statistics.median(delays):.3f} s, p95 {p95:.3f} s |"
        )
    same = all(a.fired_at == a.started_at for a in Alert.objects.filter(kind="server_down"))
    print(json.dumps({
        "servers": args.servers, "models": args.models, "versions": args.versions,
        "scrape_ms_off": statistics.median(off), "scrape_ms_on": statistics.median(on),
        "overhead": overhead, "hook_ms": hook_ms, "hook_share": share, "open_alerts": open_alerts,
        "export_ms": export_ms, "rules_ms": rules_ms, "scrape_cpu_ms_off": cpu_off, "hook_cpu_ms": cpu_hook,
        "deliveries": len(delays),
        "delivery_p50_s": statistics.median(delays) if delays else None, "delivery_p95_s": p95,
        "same_scrape": same,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
