"""Control-plane overhead: API load → action succeeded, minus a direct tritonclient load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleetdeck_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/control_overhead.py --rounds 20

With --cold the model is unloaded (untimed) before every load, so each load really loads
it; without, each load is a reload of a loaded model, which Triton answers at once.

Starts one tritonserver on the demo repository and one Celery worker (no beat), registers
the server and an operator, then alternates, per round: a direct `load_model("longtail")`
over tritonclient, and `POST /api/servers/{id}/models/longtail/load/` (Django's test client,
the whole DRF stack in process) timed until the row reads succeeded (polled every 5 ms).
The overhead of a round is the API time minus the direct time of the same round; the
report is the median and p90 over rounds. The database is migrated (and created) first.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fleetdeck_bench")
os.environ["FLEET_CELERY_QUEUE"] = f"fleetdeck-bench-{os.getpid()}"


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--model", default="longtail")
    parser.add_argument(
        "--cold", action="store_true", help="unload before every load, so each one really loads"
    )
    args = parser.parse_args()

    if os.environ["DATABASE_URL"].startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import tritonclient.http as triton_http
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from fleet.demo.localfleet import DEMO_REPOSITORY, TritonProcess
    from fleet.models import Action, Server
    from tests.conftest import client_for

    call_command("migrate", verbosity=0)
    log_dir = Path(tempfile.mkdtemp(prefix="fleetdeck-bench-"))
    triton = TritonProcess(DEMO_REPOSITORY, "bench", models=["fast"], log_path=log_dir / "triton.log")
    worker = None
    try:
        triton.start()
        triton.wait_ready()
        Server.objects.filter(name="bench").delete()
        server = Server.objects.create(name="bench", url=triton.http_url, metrics_url=triton.metrics_url)
        user, _ = User.objects.get_or_create(username="bench-operator")
        user.groups.add(Group.objects.get_or_create(name="operator")[0])
        api = client_for(user)
        api.defaults["SERVER_NAME"] = "localhost"
        with (log_dir / "worker.log").open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=1",
                 "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        direct_client = triton_http.InferenceServerClient(triton.http_url.split("//")[1], network_timeout=600)
        url = f"/api/servers/{server.id}/models/{args.model}/load/"

        def unload() -> None:
            if not args.cold:
                return
            direct_client.unload_model(args.model)
            while any(
                row["name"] == args.model and row.get("state") in ("READY", "UNLOADING")
                for row in direct_client.get_model_repository_index()
            ):
                time.sleep(0.02)

        def direct() -> float:
            unload()
            started = time.perf_counter()
            direct_client.load_model(args.model)
            return time.perf_counter() - started

        def through_api() -> tuple[float, float]:
            unload()
            started = time.perf_counter()
            response = api.post(url, {}, format="json")
            assert response.status_code == 202, response.content
            action_id = response.json()["action_id"]
            while True:
                action = Action.objects.get(id=action_id)
                if not action.active:
                    break
                time.sleep(0.005)
            assert action.state == Action.State.SUCCEEDED, action.error
            return time.perf_counter() - started, float(action.load_duration_s or 0)

        through_api()  # warm-up: worker imports, connections, first load
        direct()
        rows = []
        for _ in range(args.rounds):
            d = direct()
            a, triton_part = through_api()
            rows.append((d, a, triton_part))
        overheads = sorted((a - d) * 1000 for d, a, _ in rows)
        internal = sorted((a - t) * 1000 for _, a, t in rows)
        print(f"rounds: {args.rounds}, model: {args.model}, {'cold' if args.cold else 'warm (reload)'}")
        print(f"direct load_model      median {statistics.median(d for d, _, _ in rows) * 1000:8.1f} ms")
        print(f"API → succeeded        median {statistics.median(a for _, a, _ in rows) * 1000:8.1f} ms")
        print(f"overhead (API-direct)  median {statistics.median(overheads):8.1f} ms"
              f"  p90 {overheads[int(0.9 * (len(overheads) - 1))]:8.1f} ms"
              f"  min {overheads[0]:8.1f} ms  max {overheads[-1]:8.1f} ms")  # fmt: skip
        print(f"API time minus the action's own load call: median {statistics.median(internal):8.1f} ms")
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
        triton.stop()


if __name__ == "__main__":
    main()
