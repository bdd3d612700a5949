"""Helpers for control-action tests: waiting on an action, asking which version serves,
and tmp model repositories with models the demo repository lacks."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from fleet.demo.localfleet import DEMO_REPOSITORY
from fleet.models import Action

_VERSIONED_V1 = DEMO_REPOSITORY / "versioned" / "1" / "model.py"


def wait_action(action_id: int, timeout: float = 90.0) -> Action:
    """Poll the row until the action ended; fail with its state otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        action = Action.objects.get(id=action_id)
        if not action.active:
            return action
        time.sleep(0.1)
    raise AssertionError(f"action {action_id} still {Action.objects.get(id=action_id).state}")


def served_version(url: str, model: str = "versioned") -> int:
    """Which version answers an unversioned request (each version returns its number)."""
    body: dict[str, Any] = {"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
    response = requests.post(f"{url}/v2/models/{model}/infer", json=body, timeout=10)
    response.raise_for_status()
    return int(response.json()["outputs"][0]["data"][0])


def index_rows(url: str, model: str) -> list[dict[str, str]]:
    rows = requests.post(f"{url}/v2/repository/index", json={}, timeout=10).json()
    return [row for row in rows if row["name"] == model]


_CONFIG = """name: "{name}"
backend: "python"
max_batch_size: 0
input [ {{ name: "INPUT0", data_type: TYPE_FP32, dims: [ 1 ] }} ]
output [ {{ name: "OUTPUT0", data_type: TYPE_INT32, dims: [ 1 ] }} ]
instance_group [ {{ count: 1, kind: KIND_CPU }} ]
{extra}
"""

_BROKEN = """
class TritonPythonModel:
    def initialize(self, args):
        raise RuntimeError("fragile v{version} cannot start: weights missing")
"""

_SLEEPY = """
import time

time.sleep({seconds})
"""


def add_model(
    repo: Path, name: str, versions: dict[int, str], extra: str = "", config: str | None = None
) -> None:
    """A python model answering its version number; each version is "ok", "broken"
    (initialize raises) or "sleepy:N" (the module sleeps N s while Triton loads it)."""
    for version, kind in versions.items():
        directory = repo / name / str(version)
        directory.mkdir(parents=True)
        source = _VERSIONED_V1.read_text().replace("VERSION = 1", f"VERSION = {version}")
        if kind == "broken":
            source += _BROKEN.format(version=version)
        elif kind.startswith("sleepy:"):
            source = _SLEEPY.format(seconds=float(kind.split(":")[1])) + source
        (directory / "model.py").write_text(source)
    text = config if config is not None else _CONFIG.format(name=name, extra=extra)
    (repo / name / "config.pbtxt").write_text(text)


def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo repository."""
    repo = tmp_path / "models"
    shutil.copytree(DEMO_REPOSITORY, repo, ignore=shutil.ignore_patterns("__pycache__"))
    return repo


def states(url: str, model: str) -> list[str]:
    """The index states of a model's rows, e.g. ["LOADING"]."""
    return [row.get("state", "") for row in index_rows(url, model)]


def wait_until(probe: Callable[[], Any], timeout: float = 60.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run_in_thread(action_id: int) -> threading.Thread:
    """Run the action inline, as a worker would, in a thread with its own DB connection."""
    from django.db import connection

    from fleet.control import runner

    def run() -> None:
        try:
            runner.run_action(action_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=f"test-run-{action_id}", daemon=True)
    thread.start()
    return thread
