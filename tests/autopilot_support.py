"""Helpers for the autopilot's tests: the repository of models with known footprints, and
running load/unload actions inline as a worker would."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from fleet.control import footprint, runner
from fleet.models import Action, Footprint, Server

# python models that hold a numpy array of this many MiB from initialize on.
REPOSITORY = Path(__file__).parent / "data" / "autopilot_models"
MIB = {"mem256": 256, "mem384": 384, "mem512": 512}


def act(server: Server, name: str, kind: str) -> Action:
    """One action run inline to its end (the runner's claim, Triton, verification)."""
    action = Action.objects.create(kind=kind, server=server, model=name, parameters={"confirmed": True})
    runner.run_action(action.id)
    return Action.objects.get(id=action.id)


def measure(server: Server, name: str, times: int) -> None:
    """Load and unload the model `times` times, each measured: the gauge settles between
    (an action right after another one on the server is not measured)."""
    for _ in range(times):
        time.sleep(footprint.GAUGE_FRESH_S)
        loaded = act(server, name, Action.Kind.LOAD)
        assert loaded.state == Action.State.SUCCEEDED, loaded.error
        time.sleep(footprint.GAUGE_FRESH_S)
        unloaded = act(server, name, Action.Kind.UNLOAD)
        assert unloaded.state == Action.State.SUCCEEDED, unloaded.error


def seed_footprints(server: Server, mib: dict[str, int]) -> None:
    """Five observations per model at exactly its allocation (measuring is another test's)."""
    for name, size in mib.items():
        for _ in range(footprint.MEDIAN_OF):
            Footprint.objects.create(
                server=server, name=name, bytes=size * 2**20, gauge="nv_cpu_memory_used_bytes"
            )


def infer(url: str, name: str) -> None:
    body: dict[str, Any] = {"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
    requests.post(f"{url}/v2/models/{name}/infer", json=body, timeout=10).raise_for_status()
