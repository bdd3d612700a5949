"""Processes for the fleet benchmark: the Procfile's web, worker and beat, Prometheus, and
their CPU from /proc (no Django here)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import requests

from fleet.demo.machine import free_port_block

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the task ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live descendants, and the children it reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total, stack, root = 0, [pid], True
    while stack:
        p = stack.pop()
        try:
            fields = _stat(p)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if root else 0)
        root = False
        stack += _children(p)
    return total / tick


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _procfile() -> dict[str, str]:
    lines = (line.split(":", 1) for line in PROCFILE.read_text().splitlines() if ":" in line)
    return {name.strip(): command.strip() for name, command in lines}


def start_processes(env: dict[str, str], logs: Path) -> dict[str, subprocess.Popen[bytes]]:
    """web, worker and beat exactly as the Procfile runs them (what honcho start runs)."""
    started = {}
    for name, command in _procfile().items():
        with (logs / f"{name}.log").open("wb") as out:
            started[name] = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
    return started


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for popen in processes.values():
        if popen.poll() is None:
            os.killpg(popen.pid, 15)
    for popen in processes.values():
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, 9)
            popen.wait()


def start_prometheus(targets: list[str], interval: float, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port_block(1)
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global: {{scrape_interval: {interval:g}s, evaluation_interval: {interval:g}s}}\n"
        f"scrape_configs: [{{job_name: triton, static_configs: [{{targets: {targets}}}]}}]\n"
    )
    popen = subprocess.Popen(
        [
            "/usr/bin/prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ],
        stdout=(tmp / "prometheus.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", timeout=1).ok:
                return popen, url
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    popen.kill()
    raise RuntimeError((tmp / "prometheus.log").read_text()[-2000:])


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def prometheus_series(url: str) -> int:
    text = requests.get(f"{url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("prometheus_tsdb_head_series "):
            return int(float(line.split()[1]))
    return 0
