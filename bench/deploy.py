"""Desired state (issue 9): the CPU of one reconcile pass over the simulated fleet.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleetdeck_bench_deploy \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/deploy.py [--servers 50 --deployments 100]

Serves the simulated fleet in-process (fleet/demo/simulator_http.SimFleet: 50 servers x 50
models x 2 versions by default), registers it labelled pool=p0..p4, reads each server's
inventory through the real path (services.refresh_inventory), then creates the deployments
(each model on two pools, with the versions the inventory shows READY on the pool's first
server; the simulator loads versions per server, so some targets drift from the start) and times
`reconcile.reconcile_all()`: the process's CPU (time.process_time, so PostgreSQL's own work
is not in it), wall time and queries per pass, the median of --passes. Two cases: every
deployment in sync, and half of them drifting (another version desired) in read-only mode,
so that the pass finds and records the drift without requesting loads: the pass that finds
it (writes every drifting server's state) and the passes after (nothing changed).
`--overridden 0.5` gives half the deployments a config override, whose keys each pass
compares against the whole config the inventory holds. No Triton call is
made by a pass: the figures are the comparison against the inventory scraping holds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fleetdeck_bench_deploy")
os.environ["FLEET_CELERY_QUEUE"] = f"fleetdeck-bench-{os.getpid()}"

TARGET_CPU_S = 1.0
OVERRIDE = {"dynamic_batching": {"max_queue_delay_microseconds": 100}}  # --overridden


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def timed(passes: int) -> tuple[float, float, int]:
    """(median CPU s, median wall s, queries) of `passes` reconcile passes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fleet.deploy import reconcile

    cpu, wall, queries = [], [], 0
    for _ in range(passes):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            c0, w0 = time.process_time(), time.perf_counter()
            reconcile.reconcile_all()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        queries = len(captured)
    return statistics.median(cpu), statistics.median(wall), queries


def converged(deployments: Any) -> None:
    """The stored configs as the reconciler's loads leave them: the deployment's version
    policy (the simulator loads with latest-2) and its override, so "as deployed" is in sync."""
    from fleet.control import overrides
    from fleet.deploy import selector, spec
    from fleet.models import ModelConfig

    changed = []
    for deployment in deployments:
        ids = [s.id for s in selector.servers_of(deployment)]
        for row in ModelConfig.objects.filter(server_id__in=ids, name=deployment.model):
            config = overrides.merged(row.config, deployment.config or {})
            row.config = {**config, "version_policy": spec.policy(deployment.versions)}
            changed.append(row)
    ModelConfig.objects.bulk_update(changed, ["config"], batch_size=500)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument(
        "--overridden",
        type=float,
        default=0.0,
        help="the share of deployments with a config override (their configs are read whole)",
    )
    args = parser.parse_args()
    if os.environ["DATABASE_URL"].startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from fleet import services
    from fleet.demo.machine import free_port_block
    from fleet.demo.simulator import SimOptions
    from fleet.demo.simulator_http import SimFleet
    from fleet.models import Deployment, DeploymentTarget, ModelVersion, Server

    call_command("migrate", verbosity=0)
    Deployment.objects.all().delete()
    Server.objects.filter(name__startswith="bench-deploy-").delete()
    pools = 5
    fleet = SimFleet(
        SimOptions(servers=args.servers, models=args.models, versions=2), free_port_block(args.servers)
    )
    fleet.start()
    started = time.perf_counter()
    servers = []
    for i in range(args.servers):
        server = Server.objects.create(
            name=f"bench-deploy-{i}",
            url=fleet.url(i),
            metrics_url=fleet.metrics_url(i),
            labels={"pool": f"p{i % pools}"},
        )
        services.refresh_inventory(server)
        servers.append(server)
    print(f"inventory of {args.servers} servers read in {time.perf_counter() - started:.1f} s")

    ready: dict[tuple[int, str], list[int]] = {}
    for server_id, name, version in ModelVersion.objects.filter(state="READY").values_list(
        "server_id", "name", "version"
    ):
        ready.setdefault((server_id, name), []).append(int(version))
    names = sorted({name for _, name in ready})
    made = 0
    for k in range(args.deployments):
        name, pool = names[k % len(names)], (k // len(names)) % pools
        first = next(s for s in servers if s.labels["pool"] == f"p{pool}")
        versions = sorted(ready.get((first.id, name), [1]))
        config = OVERRIDE if k < args.overridden * args.deployments else {}
        Deployment.objects.create(
            name=f"d-{k}", model=name, selector={"pool": f"p{pool}"}, versions=versions, config=config
        )
        made += 1
    converged(Deployment.objects.all())
    rows = ModelVersion.objects.count()
    print(f"{made} deployments over {args.servers} servers ({rows} inventory rows)")

    # Read-only throughout: drift is found and recorded, no load is requested of the simulator.
    settings.FLEET_READ_ONLY = True
    cpu, wall, queries = timed(args.passes)
    states = Counter(DeploymentTarget.objects.values_list("state", flat=True))
    print(
        f"as deployed ({dict(states)}): CPU {cpu * 1000:.0f} ms, wall {wall * 1000:.0f} ms, {queries} queries"
    )
    for deployment in Deployment.objects.all()[: made // 2]:
        deployment.versions = [9]
        deployment.save(update_fields=["versions"])
    cpu_f, wall_f, queries_f = timed(1)
    print(f"half found drifting: CPU {cpu_f * 1000:.0f} ms, wall {wall_f * 1000:.0f} ms, {queries_f} queries")
    cpu_d, wall_d, queries_d = timed(args.passes)
    print(f"half still drifting: CPU {cpu_d * 1000:.0f} ms, wall {wall_d * 1000:.0f} ms, {queries_d} queries")
    worst = max(cpu, cpu_f, cpu_d)
    print(f"target: <= {TARGET_CPU_S:.0f} s of CPU per pass: {'met' if worst <= TARGET_CPU_S else 'NOT met'}")
    fleet.stop()


if __name__ == "__main__":
    main()
