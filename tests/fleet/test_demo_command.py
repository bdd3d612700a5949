"""`manage.py demo` (what `make demo` runs) brings up a live fleet, prints its URL and login last
without worker chatter after it, and Ctrl-C leaves no process behind."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from fleet.demo.machine import free_port_block

ROOT = Path(__file__).resolve().parents[2]


def processes_with(marker: str) -> list[int]:
    """Live (non-zombie) processes whose environment carries the marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"FLEETDECK_DEMO_TEST={marker}".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.timeout(240)
def test_it_serves_a_live_fleet_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    port = free_port_block(1)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(FLEET_VAR_DIR=str(tmp_path), FLEETDECK_DEMO_TEST=marker, FLEET_SCRAPE_INTERVAL="1")
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--servers", "1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        login = None
        while time.monotonic() < deadline and demo.poll() is None:
            login = re.search(r"FleetDeck: (http://\S+)\s+login: admin / (\S+)", log.read_text())
            if login and "triton-1: http" in log.read_text():
                break
            time.sleep(0.5)
        assert login, log.read_text()[-3000:]
        url, password = login.groups()

        session = requests.Session()
        page = session.get(f"{url}login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        session.post(
            f"{url}login/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{url}login/"},
            timeout=10,
        )
        servers: list[dict] = []
        while time.monotonic() < deadline:
            servers = session.get(f"{url}api/servers/", timeout=10).json()
            if servers and all(s["status"] == "up" for s in servers if s["name"] == "triton-1"):
                break
            time.sleep(1)
        assert any(s["name"] == "triton-1" and s["status"] == "up" for s in servers), servers

        # The URL and login come last, once the fleet is scraped, and stay on screen: no
        # Celery line per task and no access-log line per request by default.
        text = log.read_text()
        assert text.index("triton-1: http") < text.index("FleetDeck: http"), text[-3000:]
        for chatter in ("] received", "] succeeded in", '"GET /'):
            assert chatter not in text, text[-3000:]
    finally:
        # What a terminal's Ctrl-C does: SIGINT to the foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=60)
        finally:
            left = processes_with(marker)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left behind: {left}\n{log.read_text()[-3000:]}"
