"""Ensure-loaded (issue 10): a READY model's answer under 50 concurrent callers, and
FleetDeck's time on top of Triton's own unload + load when ensure has to evict and load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleetdeck_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/ensure.py [--callers 50] [--rounds 8]

With `--http` [--compare CALLERS], only the READY answer, through real HTTP against the Procfile's
web process, with the fast path in front of Django (and, compared, without it): see
bench/ensure_http.py. Without it, as follows (with `--only-evict`, step 2 alone).

Starts one tritonserver on tests/data/autopilot_models and one Celery worker (concurrency
2, no beat), registers the server, an operator and his API token. Requests go through
Django's test client (the whole DRF stack, token authentication included, in this process,
no socket), as in bench/control_overhead.py: a web process opens a database
connection per concurrent request and keeps it, which 50 callers turn into 50+ connections
of a PostgreSQL others share.

1. READY: `mem128` is loaded; `--callers` threads, each with its own client (and database
   connection), call `POST /api/servers/{id}/models/mem128/ensure/` `--calls` times back
   to back (closed loop, no think time); latency per call, p50/p99. Also one caller alone.
   Then paced (open loop): the same callers each call once every `--period` seconds (50
   callers at 1 s: 50 calls/s together, spread evenly), latency measured from the moment
   each call was due, so a call held up behind others counts its wait (no coordinated
   omission). A closed loop measures the web process's capacity; the paced run measures what
   50 clients calling ensure before their inferences see.
2. Evict + load: budget 500 MiB (mem256 and mem384 do not fit together, each alone does).
   Per round, directly over tritonclient: unload mem256 and poll the index until it is gone,
   load mem384, and back (two transitions); then through FleetDeck: ensure mem256 (evicts
   mem384) and ensure mem384 (evicts mem256), each timed until the 200. Overhead per
   transition = (ensure pair - direct pair) / 2; median and p90 over rounds.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fleetdeck_bench")
os.environ["FLEET_CELERY_QUEUE"] = f"fleetdeck-bench-{os.getpid()}"
MIB = 2**20


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--calls", type=int, default=40, help="calls per caller")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--period", type=float, default=1.0, help="paced run: seconds between one caller's calls"
    )
    parser.add_argument(
        "--only-evict",
        action="store_true",
        help="skip the READY runs (step 1): only evict + load",
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="READY only, through real HTTP against the Procfile's web process (bench/ensure_http.py)",
    )
    parser.add_argument(
        "--compare",
        type=int,
        default=0,
        metavar="CALLERS",
        help="with --http: the same load with the fast path off, with this many callers",
    )
    parser.add_argument(
        "--wrk",
        type=float,
        default=0,
        metavar="SECONDS",
        help="with --http: also a closed loop of `callers` connections from wrk (a C client)",
    )
    args = parser.parse_args()

    if os.environ["DATABASE_URL"].startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import tritonclient.http as triton_http
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from fleet import services
    from fleet.demo.localfleet import TritonProcess
    from fleet.models import AutopilotPolicy, Server
    from tests.autopilot_support import REPOSITORY, seed_footprints

    call_command("migrate", verbosity=0)
    log_dir = Path(tempfile.mkdtemp(prefix="fleetdeck-bench-ensure-"))
    triton = TritonProcess(
        REPOSITORY, "bench-ensure", models=["mem128", "mem256"], log_path=log_dir / "triton.log"
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        triton.start()
        triton.wait_ready()
        Server.objects.filter(name="bench-ensure").delete()
        server = Server.objects.create(
            name="bench-ensure", url=triton.http_url, metrics_url=triton.metrics_url
        )
        services.refresh_inventory(server)
        seed_footprints(server, {"mem128": 128, "mem256": 256, "mem384": 384})
        user, _ = User.objects.get_or_create(username="bench-operator")
        user.groups.add(Group.objects.get_or_create(name="operator")[0])
        _, token = AuthToken.objects.create(user=user)
        if args.http:
            from bench import ensure_http

            ensure_http.run(
                server.id,
                token,
                log_dir,
                callers=args.callers,
                calls=args.calls,
                period=args.period,
                compare=args.compare,
                wrk_seconds=args.wrk,
            )
            return
        celery = [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=2",
                  "--loglevel=WARNING", "--without-heartbeat", "--without-gossip",
                  "--without-mingle"]  # fmt: skip
        processes.append(start(celery, log_dir / "worker.log"))
        base = f"/api/servers/{server.id}/models"

        def api() -> APIClient:
            client = APIClient(SERVER_NAME="localhost")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            return client

        def caller(out: list[float], calls: int, barrier: threading.Barrier | None) -> None:
            client = api()
            try:
                if barrier is not None:
                    barrier.wait()
                for _ in range(calls):
                    started = time.perf_counter()
                    answer = client.post(f"{base}/mem128/ensure/")
                    out.append(time.perf_counter() - started)
                    assert answer.status_code == 200 and answer.json()["state"] == "READY", answer.content
            finally:
                connection.close()

        if not args.only_evict:
            alone: list[float] = []
            caller(alone, 200, None)
            p50, p99 = pct(alone, 0.5) * 1000, pct(alone, 0.99) * 1000
            print(f"READY, 1 caller x 200:   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
            many: list[float] = []
            barrier = threading.Barrier(args.callers)
            threads = [
                threading.Thread(target=caller, args=(many, args.calls, barrier)) for _ in range(args.callers)
            ]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rate = len(many) / (time.perf_counter() - began)
            print(
                f"READY, {args.callers} callers x {args.calls}: p50 {pct(many, 0.5) * 1000:6.1f} ms  "
                f"p99 {pct(many, 0.99) * 1000:6.1f} ms  ({rate:.0f} answers/s)"
            )

            def paced(out: list[float], offset: float, began: float) -> None:
                client = api()
                try:
                    # Warm: this thread's database connection is opened by its first call, which a
                    # web process's persistent connections would not pay per request.
                    assert client.post(f"{base}/mem128/ensure/").status_code == 200
                    for k in range(args.calls):
                        due = began + offset + k * args.period
                        time.sleep(max(0.0, due - time.perf_counter()))
                        answer = client.post(f"{base}/mem128/ensure/")
                        out.append(time.perf_counter() - due)
                        assert answer.status_code == 200 and answer.json()["state"] == "READY", answer.content
                finally:
                    connection.close()

            spaced: list[float] = []
            began = time.perf_counter() + 3.0  # after every caller's warm-up call
            threads = [
                threading.Thread(target=paced, args=(spaced, i * args.period / args.callers, began))
                for i in range(args.callers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(
                f"READY, {args.callers} callers paced 1 per {args.period:g} s each "
                f"({args.callers / args.period:.0f} calls/s): p50 {pct(spaced, 0.5) * 1000:6.1f} ms  "
                f"p99 {pct(spaced, 0.99) * 1000:6.1f} ms"
            )

        # --- evict + load
        AutopilotPolicy.objects.update_or_create(
            server=server, defaults={"enabled": True, "memory_budget_bytes": 500 * MIB, "pinned": []}
        )
        direct_client = triton_http.InferenceServerClient(triton.http_url.split("//")[1], network_timeout=600)

        def gone(name: str) -> bool:
            return not any(
                row["name"] == name and row.get("state") in ("READY", "UNLOADING", "LOADING")
                for row in direct_client.get_model_repository_index()
            )

        def direct(out_model: str, in_model: str) -> float:
            started = time.perf_counter()
            direct_client.unload_model(out_model)
            while not gone(out_model):
                time.sleep(0.02)
            direct_client.load_model(in_model)
            return time.perf_counter() - started

        def ensure(name: str) -> float:
            started = time.perf_counter()
            answer = api().post(f"{base}/{name}/ensure/")
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200 and answer.json()["evicted"], answer.content
            return elapsed

        # mem128 stays: unload it so that the two models alternate alone under the budget.
        direct_client.unload_model("mem128")
        while not gone("mem128"):
            time.sleep(0.02)
        services.refresh_inventory(server)
        overheads, directs, ensures = [], [], []
        for _ in range(args.rounds + 1):
            time.sleep(1)
            d = direct("mem256", "mem384") + direct("mem384", "mem256")
            services.refresh_inventory(server)  # FleetDeck's view after the direct calls (untimed)
            time.sleep(1)
            e = ensure("mem384") + ensure("mem256")
            directs.append(d / 2)
            ensures.append(e / 2)
            overheads.append((e - d) / 2)
        overheads, directs, ensures = overheads[1:], directs[1:], ensures[1:]  # the first warms up
        print(f"evict+load, {args.rounds} rounds x 2 transitions:")
        print(f"  direct unload+load      median {statistics.median(directs) * 1000:8.1f} ms")
        print(f"  ensure (evict+load)     median {statistics.median(ensures) * 1000:8.1f} ms")
        print(
            f"  overhead per transition median {statistics.median(overheads) * 1000:8.1f} ms  "
            f"p90 {pct(overheads, 0.9) * 1000:8.1f} ms  min {min(overheads) * 1000:8.1f} ms"
        )
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        triton.stop()


if __name__ == "__main__":
    main()
