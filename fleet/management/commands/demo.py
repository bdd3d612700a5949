"""`python manage.py demo` (what `make demo` runs): FleetDeck with a live local fleet.

Starts, in one process group that Ctrl-C stops entirely: an embedded Valkey when no
REDIS_URL is set, the Procfile's web, worker and beat, and a local fleet of real Triton
servers with demo traffic. Prints the URL and an admin login it created.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from honcho.environ import parse_procfile
from honcho.manager import Manager

from fleet.demo.embedded_redis import redis_url


def _free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port near {preferred}")


class Command(BaseCommand):
    help = "Run FleetDeck with a local fleet of real Triton servers and demo traffic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--servers", type=int, default=2)
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username="admin")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        port = _free_port(options["port"])

        with redis_url() as url:
            env = {**os.environ, "REDIS_URL": url, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
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
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nFleetDeck: http://127.0.0.1:{port}/  login: admin / {password}\n"
                    f"Redis: {url}   Ctrl-C stops everything.\n"
                )
            )
            manager.loop()
        sys.exit(manager.returncode or 0)
