"""FleetDeck as it runs in production, against private Redis and PostgreSQL: a Celery worker
with beat and the web process (the Procfile's) as child processes, driven from outside
through the API (a signed-in session, as a browser holds) and a websocket client that
reconnects when its socket drops.

The test process's own Django stays on the test database: everything here goes through
the processes under test, so that what is checked is what a user would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import requests

from tests.browser import AsgiServer, start_asgi_server
from tests.celery_process import ROOT, WorkerProcess, start_worker, stop_group
from tests.faults.conftest import FaultRow
from tests.faults.support import wait_until

ADMIN = ("ada", "pw-ada-faults-1")
RECOVERY_S = 30.0  # generous for a loaded 2-core machine; the queue timeout is 900 s
ENDED = {"succeeded", "failed"}


def stack_env(database_url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    """What every FleetDeck process of one stack shares (var_dir holds the secret key)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "FLEET_VAR_DIR": str(var_dir),
        "FLEET_SCRAPE_INTERVAL": "1",
        "FLEET_INVENTORY_INTERVAL": "1",
        "FLEET_RECONCILE_INTERVAL": "1",
        "FLEET_ACTION_LEASE": "3",
        "FLEET_ACTION_QUEUE_TIMEOUT": "900",
    }


def manage(env: dict[str, str], *args: str) -> str:
    """Run manage.py in a child process with `env`; its output, or AssertionError with it."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise AssertionError(
            f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


def prepare_database(env: dict[str, str]) -> None:
    """Schema and one admin (a superuser) in the database `env` names."""
    manage(env, "migrate", "--noinput", "-v0")
    username, password = ADMIN
    manage(
        {**env, "DJANGO_SUPERUSER_USERNAME": username, "DJANGO_SUPERUSER_PASSWORD": password,
         "DJANGO_SUPERUSER_EMAIL": "ada@example.com"},
        "createsuperuser", "--noinput",
    )  # fmt: skip


class Api:
    """A signed-in session against the web process: JSON in and out, CSRF token sent on writes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.failures: list[str] = []  # 5xx answers and refused connections, as seen

    def login(self, username: str, password: str) -> None:
        self.session.get(f"{self.base}/login/", timeout=10).raise_for_status()
        answer = self.session.post(
            f"{self.base}/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.csrf},
            timeout=10,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise AssertionError(f"login as {username} failed: HTTP {answer.status_code}")

    @property
    def csrf(self) -> str:
        return self.session.cookies.get("csrftoken") or ""

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        try:
            answer = self.session.request(
                method, f"{self.base}{path}", json=body, headers={"X-CSRFToken": self.csrf}, timeout=30
            )
        except requests.RequestException as exc:
            self.failures.append(f"{method} {path}: {type(exc).__name__}")
            raise
        if answer.status_code >= 500:
            self.failures.append(f"{method} {path}: HTTP {answer.status_code}")
        return answer

    def get(self, path: str) -> Any:
        answer = self.call("GET", path)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return self.call("POST", path, body or {})


@dataclass
class Frames:
    """What the websocket client saw: arrival times of frames, and how often it connected."""

    at: list[float] = field(default_factory=list)
    connects: int = 0
    closes: list[str] = field(default_factory=list)

    def since(self, moment: float) -> int:
        return sum(1 for at in list(self.at) if at > moment)


# What a socket's receive() gives once the connection is over.
ENDS = {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSING}


class Watcher:
    """A websocket client on a server's page topic that reconnects (after 0.5 s) whenever its
    socket closes or cannot open, as the pages' script does."""

    def __init__(self, base: str, path: str, cookie: str) -> None:
        self.url = base.replace("http://", "ws://") + path
        self.headers = {"Cookie": cookie, "Origin": base}
        self.frames = Frames()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="ws-watcher", daemon=True
        )

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                try:
                    async with session.ws_connect(self.url, headers=self.headers, heartbeat=None) as socket:
                        self.frames.connects += 1
                        while not self._stop.is_set():
                            with contextlib.suppress(TimeoutError):
                                message = await socket.receive(timeout=0.5)
                                if message.type == aiohttp.WSMsgType.TEXT and '"fleet.frame"' in message.data:
                                    self.frames.at.append(time.time())
                                elif message.type in ENDS:
                                    self.frames.closes.append(f"{message.type.name} {socket.close_code}")
                                    break
                except (aiohttp.ClientError, OSError) as exc:
                    self.frames.closes.append(type(exc).__name__)
                await asyncio.sleep(0.5)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


_TASK_LINE = re.compile(
    r"^\[(\S+ \S+): \w+/[\w-]+\] Task ([\w.]+)\[([\w-]+)\] (received|raised unexpected: \w+)"
)


def tasks_failed(log: Path, received_after: float) -> list[str]:
    """Tasks a worker received after `received_after` (unix s) that then raised: work that a
    fault which was over by then still cost."""
    received: dict[str, float] = {}
    failed = []
    for line in log.read_text(errors="replace").splitlines():
        match = _TASK_LINE.match(line)
        if not match:
            continue
        stamp, name, task_id, what = match.groups()
        if what == "received":
            received[task_id] = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        elif received.get(task_id, 0.0) > received_after:
            failed.append(f"{name} {what.split(': ', 1)[1]}")
    return failed


@dataclass
class Stack:
    control: WorkerProcess  # the control queue, and beat
    scraper: WorkerProcess  # the scrape queue
    web: AsgiServer
    api: Api

    def dead(self) -> list[str]:
        """The processes that exited, each with the last CRITICAL line of its log (why)."""
        out = []
        for name, popen, log in (
            ("control worker", self.control.popen, self.control.log),
            ("scrape worker", self.scraper.popen, self.scraper.log),
            ("web", self.web.popen, self.web.log),
        ):
            if popen.poll() is not None:
                why = [line for line in log.read_text(errors="replace").splitlines() if "CRITICAL" in line]
                last = why[-1][:200] if why else "no CRITICAL line"
                out.append(f"{name} exited ({popen.returncode}): {last}")
        return out

    def tasks_failed(self, received_after: float) -> list[str]:
        return [
            *tasks_failed(self.control.log, received_after),
            *tasks_failed(self.scraper.log, received_after),
        ]


@contextlib.contextmanager
def running_stack(tmp_path: Path, env: dict[str, str]) -> Iterator[Stack]:
    """Two workers, as the README suggests for a fleet (control actions and scrapes on their
    own queues, so long loads never hold up scrapes), beat, and the web process, on `env`'s database
    and Redis; the admin signed in."""
    from django.conf import settings

    started: list[subprocess.Popen[bytes]] = []
    try:
        control = start_worker(
            tmp_path, "control", beat=True, env=env, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]
        )
        started.append(control.popen)
        scraper = start_worker(tmp_path, "scraper", beat=False, env=env, queues=[settings.FLEET_SCRAPE_QUEUE])
        started.append(scraper.popen)
        web = start_asgi_server(tmp_path, "web", env=env)
        started.append(web.popen)
        api = Api(web.url)
        api.login(*ADMIN)
        yield Stack(control, scraper, web, api)
    finally:
        for popen in reversed(started):
            stop_group(popen, timeout=10)


class Round:
    """One restart and what must recover after it, through the API and the websocket."""

    def __init__(
        self,
        stack: Stack,
        watcher: Watcher,
        triton_url: str,
        server_id: int,
        row: FaultRow,
        models: list[str],
    ) -> None:
        self.stack, self.watcher, self.server_id, self.row = stack, watcher, server_id, row
        self.triton_url = triton_url
        self.models = models  # what unload_all unloads
        self.slowest = {"scrape": 0.0, "frames": 0.0, "action": 0.0}
        self.endings: dict[str, int] = {}
        self.failures: set[str] = set()  # why actions failed, as their records say

    def action(self, action_id: int) -> dict[str, Any]:
        return self.stack.api.get(f"/api/actions/{action_id}/")

    def request(self, kind: str, model: str) -> Any:
        body = {"confirm": True} if kind == "unload" else {}
        return self.stack.api.post(f"/api/servers/{self.server_id}/models/{model}/{kind}/", body)

    def scraped_since(self, moment: float) -> bool:
        rows = [s for s in self.stack.api.get("/api/servers/") if s["id"] == self.server_id]
        if not rows or rows[0]["status"] != "up" or not rows[0]["last_scrape_at"]:
            return False
        return datetime.fromisoformat(rows[0]["last_scrape_at"]).timestamp() > moment

    def ended(self, action_id: int) -> bool:
        return self.action(action_id)["state"] in ENDED

    def running(self, action_ids: list[int]) -> bool:
        return all(self.action(i)["state"] == "running" for i in action_ids)

    def recovered(self, label: str, what: str, since: float, probe: Callable[[], bool]) -> None:
        try:
            wait_until(probe, RECOVERY_S, what, interval=0.2)
        except AssertionError:
            self.row.lose(f"{label}: no {what} within {RECOVERY_S:g} s")
        else:
            self.slowest[what] = max(self.slowest[what], time.time() - since)

    def check_after(self, label: str, since: float, action_ids: list[int]) -> None:
        self.recovered(label, "scrape", since, lambda: self.scraped_since(since))
        self.recovered(label, "frames", since, lambda: self.watcher.frames.since(since) >= 2)
        for action_id in action_ids:
            self.recovered(label, "action", since, partial(self.ended, action_id))
            ended = self.action(action_id)
            reason = ended["result"] if ended["state"] == "succeeded" else ended["error"]
            if ended["state"] in ENDED and not reason:
                self.row.lose(f"{label}: action #{action_id} {ended['state']} without a reason")
            # The record tells the truth: a load succeeded exactly when Triton serves the model.
            ready = self.triton_ready(ended["model"])
            if (
                ended["kind"] == "load"
                and ended["state"] in ENDED
                and (ended["state"] == "succeeded") != ready
            ):
                shows = "READY" if ready else "not READY"
                self.row.lose(
                    f"{label}: load #{action_id} {ended['state']} ({reason[:80]}) but Triton shows {shows}"
                )
            if ended["state"] == "failed":
                self.failures.add(reason[:100])
            key = f"{ended['kind']} {ended['model']} {ended['state']}"
            self.endings[key] = self.endings.get(key, 0) + 1

    def triton_ready(self, model: str) -> bool:
        """Whether Triton itself (not FleetDeck's mirror) shows a READY version, once settled."""

        def settled() -> list[dict[str, Any]] | None:
            rows = requests.post(f"{self.triton_url}/v2/repository/index", json={}, timeout=10).json()
            mine = [r for r in rows if r.get("name") == model]
            return None if any(r.get("state") in {"LOADING", "UNLOADING"} for r in mine) else mine or [{}]

        return any(r.get("state") == "READY" for r in wait_until(settled, 60, f"{model} settled in Triton"))

    def unload_all(self, label: str) -> None:
        """Back to the start for the next round, through the same control path."""
        rows = self.stack.api.get(f"/api/servers/{self.server_id}/models/")
        loaded = sorted({r["name"] for r in rows if r["name"] in self.models and r["state"] == "READY"})
        for model in loaded:
            answer = self.request("unload", model)
            if answer.status_code != 202:
                self.row.lose(f"{label}: unloading {model} got HTTP {answer.status_code}")
                continue
            action_id = answer.json()["action_id"]
            wait_until(partial(self.ended, action_id), 60, f"unload of {model}")
