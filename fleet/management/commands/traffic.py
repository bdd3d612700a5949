"""`manage.py traffic --url http://127.0.0.1:P [--url ...]`: demo load for local Triton servers."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from fleet.demo import traffic


class Command(BaseCommand):
    help = (
        "Send varying demo traffic (fast, pipeline, versioned, bursts on slow, a few failures) "
        "to the given loopback Triton servers, for a bounded time."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--url", action="append", required=True, help="Triton HTTP URL; repeat for several servers"
        )
        parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
        parser.add_argument(
            "--rate", type=float, default=20.0, help="average requests/s per server (default 20)"
        )
        parser.add_argument("--max-requests", type=int, default=None, help="stop after this many")
        parser.add_argument(
            "--failure-ratio", type=float, default=0.05, help="share of versioned requests that fail"
        )
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--allow-remote", action="store_true", help="allow non-loopback URLs (off by default)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        # First Ctrl-C / SIGTERM: stop sending and let in-flight requests finish.
        # A second Ctrl-C falls back to the default KeyboardInterrupt.
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stderr.write(f"signal {signum}: stopping traffic")
            stop.set()
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            stats = traffic.run(
                options["url"],
                duration=options["duration"],
                rate=options["rate"],
                max_requests=options["max_requests"],
                failure_ratio=options["failure_ratio"],
                seed=options["seed"],
                stop=stop,
                allow_remote=options["allow_remote"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(stats.summary())
