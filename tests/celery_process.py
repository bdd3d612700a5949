"""A real Celery worker with beat, as a child process, against this test's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connection

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the test database this process is using (tests must commit: transaction=True)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, popen: subprocess.Popen[bytes], log: Path, interval: float) -> None:
        self.popen = popen
        self.log = log
        self.interval = interval

    def wait_for(self, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
        """Poll probe() until it returns something truthy; fail with the worker's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"timed out; worker log:\n{self.log.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: no shutdown, no acks."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def start_worker(
    tmp_path: Path,
    name: str = "worker",
    *,
    beat: bool = True,
    env: dict[str, str] | None = None,
    queues: list[str] | None = None,
    pool: str = "prefork",
) -> WorkerProcess:
    """Start a worker (with beat unless beat=False) in its own process group; wait until ready.

    `queues` limits what it consumes (default: every queue in CELERY_TASK_QUEUES); `pool`
    "threads" runs it as the Procfile's notify worker runs (two threads here)."""
    interval = 1.0
    log = tmp_path / f"{name}.log"
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "FLEET_SCRAPE_INTERVAL": str(interval),
        "FLEET_INVENTORY_INTERVAL": "1",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--loglevel=INFO", "--concurrency=2", f"--pool={pool}", "--without-heartbeat",
        "--without-gossip", "--without-mingle", "--hostname", f"{name}-{os.getpid()}@%h",
    ]  # fmt: skip
    if queues:
        command += ["--queues", ",".join(queues)]
    if beat:
        command += ["--beat", "--schedule", str(tmp_path / f"{name}-beat-schedule")]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(popen, log, interval)
    try:
        worker.wait_for(lambda: "ready." in log.read_text(), timeout=60)
    except BaseException:
        stop_group(popen)
        raise
    return worker


@pytest.fixture
def celery_worker_process(transactional_db: None, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = start_worker(tmp_path)
    try:
        yield worker
    finally:
        stop_group(worker.popen)


@pytest.fixture
def celery_worker_factory(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers with start_worker's options (beat=False, env=, queues=, pool=); all stopped at teardown.
    `worker.kill()` SIGKILLs one with its pool, as a crash would."""
    started: list[WorkerProcess] = []

    def make(
        name: str = "worker",
        *,
        beat: bool = True,
        env: dict[str, str] | None = None,
        queues: list[str] | None = None,
        pool: str = "prefork",
    ) -> WorkerProcess:
        worker = start_worker(
            tmp_path, f"{name}-{len(started) + 1}", beat=beat, env=env, queues=queues, pool=pool
        )
        started.append(worker)
        return worker

    try:
        yield make
    finally:
        for worker in started:
            stop_group(worker.popen)


def stop_group(popen: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM a child started with start_new_session, then SIGKILL its group if it lingers."""
    if popen.poll() is None:
        os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
