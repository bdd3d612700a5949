"""Benchmark: FleetDeck against a simulated fleet (issue 8), 50 servers x 50 models x 2 versions.

Usage (uses DATABASE_URL and REDIS_URL like the app):
    .venv/bin/python bench/fleet_scale.py [--servers 50] [--models 50] [--versions 2] [--rounds 3]

Starts `manage.py sim_fleet` in its own process (so that the simulator's CPU is not charged
to FleetDeck), registers its servers, and scrapes each one through `fleet.services` like the
worker does, round after round at --interval. Prints one row per figure, e.g.
"scrape per server: X ms median". Each step is a function, so that other figures (storage,
websockets) can be added as steps of their own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from fleet import services  # noqa: E402
from fleet.demo.localfleet import free_port_block  # noqa: E402
from fleet.models import Server  # noqa: E402

PREFIX = "bench-sim-"


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
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    db = django.db.connection
    print(f"# fleet_scale: {args.servers} servers x {args.models} models x {args.versions} versions, "
          f"{args.interval:g} s interval; database {db.vendor} {db.settings_dict['NAME']}")  # fmt: skip
    with simulator(args.servers, args.models, args.versions, args.seed) as sim:
        servers = register(sim)
        try:
            times = scrape_rounds(servers, sim, args.rounds, args.interval)
            print("\n".join(report_scrapes(times, args.servers)))
        finally:
            Server.objects.filter(id__in=[s.id for s in servers]).delete()


if __name__ == "__main__":
    main()
