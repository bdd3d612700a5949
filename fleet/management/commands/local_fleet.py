"""`python manage.py local_fleet`: run N real Triton servers from the demo repository.

The servers are registered (or re-pointed, by name) as fleet servers, so the scraper finds
them. With --traffic, demo traffic runs against them until the command is stopped.
SIGTERM or Ctrl-C stops the traffic and every Triton process.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fleet.demo import traffic
from fleet.demo.localfleet import LocalFleet
from fleet.models import Server


class Command(BaseCommand):
    help = "Start N local Triton servers with the demo models and register them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--servers", type=int, default=2)
        parser.add_argument("--traffic", action="store_true", help="send demo traffic until stopped")
        parser.add_argument("--rate", type=float, default=20.0, help="requests/s per server")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        # Turn SIGTERM (from honcho or `kill`) into the same clean stop as Ctrl-C.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        with LocalFleet(options["servers"]) as fleet:
            for triton in fleet:
                Server.objects.update_or_create(
                    name=triton.name,
                    defaults={
                        "url": triton.http_url,
                        "metrics_url": triton.metrics_url,
                        "labels": {"demo": True},
                    },
                )
                self.stdout.write(f"{triton.name}: {triton.http_url} (metrics {triton.metrics_url})")
            self.stdout.flush()
            urls = [t.http_url for t in fleet]
            while not stop.is_set():
                if options["traffic"]:
                    # run() is bounded in time; start the next round until asked to stop.
                    traffic.run(urls, duration=traffic.MAX_DURATION_S, rate=options["rate"], stop=stop)
                else:
                    stop.wait(1.0)
        self.stdout.write("local fleet stopped")
