"""pytest plugin for browser tests: the web process on the test database, Debian's Chromium, login.

- `asgi_server`: the Procfile's web command (uvicorn) as a child process on a free port, on
  this test's database (tests must commit: `transaction=True`), with
  FLEET_SCRAPE_INTERVAL=1 so that pages carry the interval the scraper uses.
- `chromium`: a headless Chromium (from apt, not Playwright's download) for one test.
- `browser_page(user)`: a fresh 1280-px-wide page, signed in through the login form. It
  records script dialogs and page errors, which a test may assert are empty.
- `screenshot(page, name)`: saves var/screenshots/<name>.png for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from honcho.environ import parse_procfile

from tests.celery_process import ROOT, database_url, stop_group

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRAPE_INTERVAL = 1.0
SCREENSHOTS = ROOT / "var" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}


def procfile_web() -> str:
    """The Procfile's web command, which `make demo` and production run."""
    return str(parse_procfile((ROOT / "Procfile").read_text()).processes["web"])


def web_launch(port: int, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The Procfile's web command on 127.0.0.1:`port`, and `env` for it (the shell execs the
    server: the child's pid is the server's)."""
    env = {**env, "PORT": str(port), "WEB_HOST": "127.0.0.1"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return ["sh", "-c", "exec " + procfile_web()], env


def web_process(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """web_launch's command as a process group of its own, logging to `log`."""
    command, env = web_launch(port, env)
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def collected_static() -> None:
    """Whitenoise serves STATIC_ROOT when DEBUG is off, as in production: collect once."""
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)


class AsgiServer:
    def __init__(self, url: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.popen = popen
        self.log = log


def start_asgi_server(
    tmp_path: Path, name: str = "web", port: int | None = None, env: dict[str, str] | None = None
) -> AsgiServer:
    """The web process on `port` (default: a free one) against this test's database (or what `env`
    names instead); returns once /healthz answers."""
    port = port or _free_port()
    log = tmp_path / f"{name}.log"
    child_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # see chromium
    child_env.update(DATABASE_URL=database_url(), FLEET_SCRAPE_INTERVAL=str(SCRAPE_INTERVAL))
    child_env.update(env or {})
    popen = web_process(port, child_env, log)
    server = AsgiServer(f"http://127.0.0.1:{port}", popen, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if popen.poll() is not None or time.monotonic() > deadline:
            stop_asgi_server(server)
            raise AssertionError(f"the web process did not start; log:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def stop_asgi_server(server: AsgiServer) -> None:
    stop_group(server.popen, timeout=10)


@pytest.fixture
def asgi_server(transactional_db: None, collected_static: None, tmp_path: Path) -> Iterator[AsgiServer]:
    server = start_asgi_server(tmp_path)
    try:
        yield server
    finally:
        stop_asgi_server(server)


@pytest.fixture
def asgi_server_factory(
    transactional_db: None, collected_static: None, tmp_path: Path
) -> Iterator[Callable[[], AsgiServer]]:
    """More web processes on the same database and Redis (e.g. two behind one balancer)."""
    started: list[AsgiServer] = []

    def make() -> AsgiServer:
        started.append(start_asgi_server(tmp_path, f"web-{len(started) + 1}"))
        return started[-1]

    try:
        yield make
    finally:
        for server in started:
            stop_asgi_server(server)


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on the main thread while it runs, and
    # Django then refuses ORM calls from it. Tests call the ORM synchronously there, which is
    # safe: lift the check while a browser runs. Per test, not per session, so that the loop
    # is gone for the tests that follow (asgiref's async_to_sync refuses a running loop too).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium: Any, asgi_server: AsgiServer) -> Iterator[Callable[..., Any]]:
    """make(user, server=None): a signed-in page on `server` (default: asgi_server)."""
    contexts: list[Any] = []

    def make(user: Any, server: AsgiServer | None = None) -> Any:
        base = (server or asgi_server).url
        context = chromium.new_context(viewport=VIEWPORT, base_url=base)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.errors = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", f"pw-{user.username}")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        return page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


def scrape(server_id: int) -> None:
    """services.scrape_server off the main thread, where Playwright's loop would make the
    broadcast's async_to_sync refuse to run."""
    from django.db import connection

    from fleet import services

    def work() -> None:
        try:
            services.scrape_server(server_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
