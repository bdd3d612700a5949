"""`python manage.py demo` (what `make demo` runs): FleetDeck with a live local fleet.

Starts, in one process group that Ctrl-C stops entirely: an embedded Valkey when no
REDIS_URL is set, the Procfile's web, worker, notify and beat, and a local fleet of real
Triton servers with demo traffic. Prints the URL and an admin login it created last, once the web
answers and every demo server has been scraped, so that it is what the terminal shows.
The workers, beat and web log at WARNING unless --verbose.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from honcho.environ import parse_procfile
from honcho.manager import Manager

from fleet.demo.embedded_redis import redis_url
from fleet.models import Server

READY_TIMEOUT_S = 300


def _free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port near {preferred}")


def _ready(port: int, servers: int, since: datetime) -> bool:
    """The web answers and every demo server was scraped up since the demo started."""
    try:
        if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code != 200:
            return False
    except requests.RequestException:
        return False
    scraped = Server.objects.filter(labels__demo=True, status=Server.Status.UP, last_scrape_at__gte=since)
    return scraped.count() >= servers


def _announce_when_ready(ready: Callable[[], bool], announce: Callable[[bool], None]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready():
        if time.monotonic() > deadline:
            announce(False)
            return
        time.sleep(1)
    announce(True)


class Command(BaseCommand):
    help = "Run FleetDeck with a local fleet of real Triton servers and demo traffic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--servers", type=int, default=2)
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument(
            "--verbose", action="store_true", help="log every task and request (default: warnings only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username="admin")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        port = _free_port(options["port"])
        started = timezone.now()
        level = "INFO" if options["verbose"] else "WARNING"

        with redis_url() as url:
            env = {**os.environ, "REDIS_URL": url, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
            # Celery's two lines per task, the web server's line per request and FleetDeck's own INFO
            # lines only when asked for: otherwise the URL and login scroll away in seconds.
            env.update(CELERY_LOG_LEVEL=level, LOG_LEVEL=level, WEB_LOG_LEVEL=level.lower())
            bin_dir = str(Path(sys.executable).parent)
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
            procfile = parse_procfile((Path(settings.BASE_DIR) / "Procfile").read_text())
            manager = Manager()
            for name, cmd in procfile.processes.items():
                manager.add_process(name, cmd, env=env, cwd=str(settings.BASE_DIR))
            manager.add_process(
                "fleet",
                f"{sys.executable} manage.py local_fleet --servers {options['servers']} --traffic",
                env=env,
                cwd=str(settings.BASE_DIR),
            )

            def announce(ready: bool) -> None:
                note = "" if ready else "  (not every demo server answers yet: see the log above)"
                self.stdout.write(
                    self.style.SUCCESS(
                        f"\nFleetDeck: http://127.0.0.1:{port}/  login: admin / {password}{note}\n"
                        f"Redis: {url}   Ctrl-C stops everything.\n"
                    )
                )
                self.stdout.flush()

            ready = partial(_ready, port, options["servers"], started)
            threading.Thread(target=_announce_when_ready, args=(ready, announce), daemon=True).start()
            manager.loop()
        sys.exit(manager.returncode or 0)
