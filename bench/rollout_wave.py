"""Desired state (issue 9): FleetDeck's own time per rollout wave, beyond Triton's loads and
the bake window (target: <= 1 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleetdeck_bench_deploy \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/rollout_wave.py [--rounds 4]

Starts three empty tritonservers on the demo repository (labelled pool=bench) and one Celery
worker with beat (default settings but a 1 s reconcile interval), deploys `versioned` v1
and waits until every server is in sync, then rolls v2, v1, v2, ... out (--rounds), each
with a 1 s bake and one server per wave (canary, then one by one). A wave's time runs from
the end of the previous wave (the rollout's start for the canary) to its "passed" event;
FleetDeck's share is that less Triton's load call (the action's load_duration_s), the
time the index took after it to show only the new version (`swap_s`: Triton unloading the
old one, which a python model's stub takes about a second to do) and the bake. It holds
the step polls, the worker's queue, the runner's inventory refresh after the load, the
smoke inference and the reads of Triton's statistics.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fleetdeck_bench_deploy")
os.environ["FLEET_CELERY_QUEUE"] = f"fleetdeck-bench-{os.getpid()}"

from bench.deploy import ensure_database  # noqa: E402

T = TypeVar("T")
BAKE_S = 1.0
TARGET_S = 1.0


def wait(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(what)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if os.environ["DATABASE_URL"].startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from fleet.demo.localfleet import DEMO_REPOSITORY, TritonProcess
    from fleet.deploy import rollout, spec
    from fleet.models import Action, Deployment, DeploymentTarget, Rollout, Server
    from tests.celery_process import start_worker, stop_group

    call_command("migrate", verbosity=0)
    Deployment.objects.all().delete()
    Server.objects.filter(name__startswith="bench-wave-").delete()
    scratch = Path(tempfile.mkdtemp(prefix="fleetdeck-bench-wave-"))
    tritons = [
        TritonProcess(DEMO_REPOSITORY, f"bench-wave-{i}", log_path=scratch / f"t{i}.log") for i in range(3)
    ]
    worker = None
    try:
        for triton in tritons:
            triton.start()
        for triton in tritons:
            triton.wait_ready()
        for triton in tritons:
            Server.objects.create(
                name=triton.name,
                url=triton.http_url,
                metrics_url=triton.metrics_url,
                labels={"pool": "bench"},
            )
        user, _ = User.objects.get_or_create(username="bench-deployer")
        user.groups.add(Group.objects.get_or_create(name="operator")[0])
        worker = start_worker(scratch, beat=True, env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1"})
        body = {"name": "bench-wave", "model": "versioned", "selector": {"pool": "bench"}, "versions": [1]}
        deployment = spec.create({**body, "gates": {"bake_s": BAKE_S, "max_unavailable": 1}}, user)
        in_sync = DeploymentTarget.objects.filter(deployment=deployment, state="in_sync")
        wait(lambda: in_sync.count() == 3, 120, "in sync")
        overheads: list[float] = []
        for r in range(args.rounds):
            target = [2] if r % 2 == 0 else [1]
            started = rollout.start(Deployment.objects.get(id=deployment.id), target, user)
            assert started is not None
            ended = Rollout.objects.filter(id=started.id).exclude(state__in=Rollout.ACTIVE_STATES)
            done = wait(ended.first, 180, "the rollout's end")
            assert done.state == Rollout.State.SUCCEEDED, (done.state, done.error)
            passed = [
                datetime.fromisoformat(e["at"]) for e in done.timeline if e["text"].endswith(": passed")
            ]
            previous = done.created_at
            for wave, end in zip(done.waves, passed, strict=True):
                (action_id,) = wave["actions"].values()
                action = Action.objects.get(id=action_id)
                load = (action.load_duration_s or 0.0) + float(action.parameters.get("swap_s", 0.0))
                overheads.append((end - previous).total_seconds() - load - BAKE_S)
                previous = end
            print(f"round {r + 1} ({target}): " + ", ".join(f"{o:.2f}" for o in overheads[-3:]) + " s")
        median, worst = statistics.median(overheads), max(overheads)
        print(
            f"FleetDeck per wave beyond Triton's load, swap, bake: median {median:.2f} s, max {worst:.2f} s"
        )
        print(f"target <= {TARGET_S:.0f} s: {'met' if worst <= TARGET_S else 'NOT met'} (max)")
    finally:
        if worker is not None:
            stop_group(worker.popen)
        for triton in tritons:
            triton.stop()


if __name__ == "__main__":
    main()
