"""`python manage.py sim_fleet`: serve a simulated Triton fleet, for benchmarks and scale tests.

Server i answers Triton's HTTP API and /metrics on port P+i (fleet/demo/simulator*.py). Not
for correctness: FleetDeck's behaviour is tested against real Triton. With --register, the
servers are registered (or re-pointed, by name) as fleet servers `sim-<i>`, so a running
beat scrapes them. SIGTERM or Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.demo.simulator import SimOptions, SimOptionsError
from fleet.demo.simulator_http import HOST, serve_until
from fleet.demo.simulator_server import SimServer
from fleet.models import Server

DEFAULT_PORT = 28000


# SimOptions fields -> the options that set them, for error messages.
FLAGS = {"uptime_s": "--uptime", "load_s": "--load-seconds", "unload_s": "--unload-seconds"}


def _servers_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"server numbers like 0,3, not {text!r}") from exc


class Command(BaseCommand):
    help = "Serve N simulated Triton servers (Triton 2.51's API and metrics) on ports P..P+N-1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--servers", type=int, default=2)
        parser.add_argument("--models", type=int, default=5, help="models per server")
        parser.add_argument("--versions", type=int, default=1, help="versions per model, all served")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="server i listens on PORT+i")
        parser.add_argument("--seed", type=int, default=0, help="every rate follows from it")
        parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests failing")
        parser.add_argument(
            "--models-loaded", type=float, default=1.0, help="fraction of each repository loaded at start"
        )
        parser.add_argument("--gpus", type=int, default=1, help="GPUs per server (0: CPU-only)")
        parser.add_argument("--uptime", type=float, default=86400.0, help="seconds served before start")
        parser.add_argument("--load-seconds", type=float, default=0.2, help="how long a load takes")
        parser.add_argument("--unload-seconds", type=float, default=0.2, help="how long UNLOADING lasts")
        parser.add_argument(
            "--explode-servers",
            type=_servers_list,
            default=(),
            help="comma-separated server numbers that export a label explosion (--explode-models models)",
        )
        parser.add_argument("--explode-models", type=int, default=2000)
        parser.add_argument("--register", action="store_true", help="register the servers as sim-<i>")
        parser.add_argument("--host", default=HOST)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sim = SimOptions(
                servers=options["servers"],
                models=options["models"],
                versions=options["versions"],
                seed=options["seed"],
                fail_rate=options["fail_rate"],
                models_loaded=options["models_loaded"],
                gpus=options["gpus"],
                uptime_s=options["uptime"],
                load_s=options["load_seconds"],
                unload_s=options["unload_seconds"],
                explode_servers=options["explode_servers"],
                explode_models=options["explode_models"],
            )
        except SimOptionsError as exc:
            raise CommandError(
                "; ".join(
                    f"{FLAGS.get(name, '--' + name.replace('_', '-'))} must be {rule}"
                    for name, rule in exc.problems
                )
            ) from exc
        host, port = options["host"], options["port"]
        if not 0 < port <= 65536 - sim.servers:
            raise CommandError(f"--port {port}: ports {port}..{port + sim.servers - 1} must be in 1..65535")
        try:
            asyncio.run(self._serve(sim, host, port, options["register"]))
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("simulated fleet stopped")

    async def _serve(self, sim: SimOptions, host: str, port: int, register: bool) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        now = time.time()
        servers = [SimServer(sim, i, now) for i in range(sim.servers)]
        started = asyncio.Event()

        async def announce() -> None:
            await started.wait()
            for i in range(sim.servers):
                url = f"http://{host}:{port + i}"
                if register:
                    await asyncio.to_thread(self._register, i, url)
                self.stdout.write(f"sim-{i}: {url} (metrics {url}/metrics)")
            self.stdout.write(
                f"sim_fleet ready: {sim.servers} servers on {host}:{port}..{port + sim.servers - 1}"
            )
            self.stdout.flush()

        task = loop.create_task(announce())
        await serve_until(stop, servers, host, port, started=started)
        task.cancel()

    @staticmethod
    def _register(i: int, url: str) -> None:
        Server.objects.update_or_create(
            name=f"sim-{i}",
            defaults={"url": url, "metrics_url": f"{url}/metrics", "labels": {"simulated": True}},
        )
