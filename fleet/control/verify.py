"""What Triton's repository index shows of one model, and waiting until it shows something.

The index, not the answer to a load or unload call, is what an action is judged by:
Triton's unload is asynchronous, and a load may go on after its caller gave up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from .. import triton
from ..models import Action, ModelVersion, Server
from .errors import ActionFailed

Rows = list[dict[str, Any]]

# Index states in which a version occupies the server (serving or on its way in or out).
_PRESENT = {ModelVersion.State.READY, ModelVersion.State.LOADING, ModelVersion.State.UNLOADING}
_BUSY = {ModelVersion.State.LOADING, ModelVersion.State.UNLOADING}
POLL_S = 0.1
# Triton's unload answers at once and finishes in tens of ms for a small model, in about a
# second and a half for a python-backend one (its stub process exits): poll soon and often
# for the first FAST_FOR_S (10, 20, 25, 25 ms...), then every POLL_S. An index read is a
# cheap local call (1-3 ms); every 100 ms at once cost an eviction 50 ms on average.
FIRST_POLL_S = 0.01
FAST_POLL_S = 0.025
FAST_FOR_S = 3.0


def rows(server: Server, name: str) -> Rows:
    return [row for row in triton.repository_index(server) if row.get("name") == name]


def ready(rows: Rows) -> set[str]:
    return {str(r.get("version", "")) for r in rows if r.get("state") == ModelVersion.State.READY}


def present(rows: Rows) -> bool:
    return any(r.get("state") in _PRESENT for r in rows)


def busy(rows: Rows) -> bool:
    return any(r.get("state") in _BUSY for r in rows)


def describe(rows: Rows) -> str:
    parts = [
        f"v{r.get('version', '-')} {r.get('state', 'not loaded')} {r.get('reason', '')}".strip() for r in rows
    ]
    return ", ".join(parts) or "absent"


def wait_for(server: Server, name: str, done: Callable[[Rows], bool], what: str) -> Rows:
    """Poll the repository index until done(rows of this model); ActionFailed on timeout."""
    started = time.monotonic()
    deadline = started + settings.FLEET_VERIFY_TIMEOUT
    pause = FIRST_POLL_S
    while True:
        found = rows(server, name)
        if done(found):
            return found
        now = time.monotonic()
        if now > deadline:
            raise ActionFailed(f"Triton answered, but the index never showed {what}: {describe(found)}")
        time.sleep(pause)
        pause = min(FAST_POLL_S if now - started < FAST_FOR_S else POLL_S, pause * 2)


def reached(action: Action, rows: Rows) -> bool:
    """Whether the index shows what the action set out to do (read once Triton is done:
    after a lost worker, or a call that gave up while Triton went on)."""
    now_ready = ready(rows)
    if action.kind == Action.Kind.LOAD and "versions" in action.parameters:  # fleet.control.converge
        want = {str(v) for v in action.parameters["versions"]}
        return bool(now_ready) and (not want or now_ready == want)
    if action.kind == Action.Kind.LOAD:
        return bool(now_ready)
    if action.kind == Action.Kind.UNLOAD:
        return not now_ready
    if action.kind == Action.Kind.PROMOTE:
        return now_ready == {str(action.parameters.get("version"))}
    want = {str(v) for v in action.parameters.get("versions", [])}
    return bool(now_ready) and (not want or now_ready == want)
