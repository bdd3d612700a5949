"""The Procfile's processes for a benchmark: one web process (uvicorn), the Celery worker and
beat, on this process's database and a Redis database of the benchmark's own
(BENCH_REDIS_DB, default 12): its worker must take no task, and its sockets no frame, of
anything else on the Redis. Import after django.setup().
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from django.db import connection

from tests.browser import web_launch

ROOT = Path(__file__).resolve().parent.parent
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "12"))
# This run's channel-layer prefix: groups left by an earlier run's killed web process (its
# channels stay members until group_expiry, a day) cost this run nothing.
CHANNEL_PREFIX = f"{settings.FLEET_REDIS_PREFIX}-{os.getpid()}"


def database_url() -> str:
    """The URL of the database this process uses, for the child processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = (db["USER"] or "") + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def redis_url() -> str:
    """settings.REDIS_URL's server, the benchmark's own database on it."""
    return urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{BENCH_REDIS_DB}"))


def child_env(interval: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url(),
        FLEET_REDIS_PREFIX=CHANNEL_PREFIX,
        FLEET_SCRAPE_INTERVAL=f"{interval:g}",
    )
    return env


@contextmanager
def child(command: list[str], env: dict[str, str], ready: Callable[[], bool], log: Path) -> Iterator[int]:
    """A process (group) of its own, running once `ready()`; yields its pid."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[2]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield process.pid
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def web(env: dict[str, str], logs: Path) -> Iterator[tuple[str, int]]:
    """One web process, the Procfile's command (uvicorn): (base URL, pid)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    command, env = web_launch(port, env)
    with child(command, env, lambda: _answers(f"{base}/healthz"), logs / "web.log") as pid:
        yield base, pid


@contextmanager
def worker_and_beat(env: dict[str, str], logs: Path) -> Iterator[None]:
    """The Procfile's worker (4 processes) and beat, logging as it does."""
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker_log, beat_log = logs / "worker.log", logs / "beat.log"
    worker = [
        *celery,
        "worker",
        "--loglevel=INFO",
        "--concurrency=4",
        "--without-gossip",
        "--without-mingle",
    ]
    beat = [*celery, "beat", "--loglevel=INFO", "--schedule", str(logs / "beat-schedule")]
    with (
        child(worker, env, lambda: "ready" in worker_log.read_text(), worker_log),
        child(beat, env, lambda: "beat: Starting" in beat_log.read_text(), beat_log),
    ):
        yield


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
