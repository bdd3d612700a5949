"""A load that brings a model to a version policy: how desired state (fleet.deploy) acts.

A load action whose parameters hold `version_policy` (and the `versions` expected READY,
empty for "latest"; `config_overrides`, merged into the config) is run here:

- the model is loaded: reload it with its live config, the overrides and the policy (as a
  promotion does; the previous policy and versions are noted on the action);
- it is not: load it with the config the inventory last read of it on this server (Triton
  keeps no config for a model it does not serve; a partial config would replace
  config.pbtxt whole, inputs and outputs included), the overrides and the policy. A model
  never seen loaded here is loaded from config.pbtxt first, then given the policy (and
  unloaded again if that fails).
"""

from __future__ import annotations

import time
from typing import Any

from .. import triton
from ..models import Action, ModelConfig
from . import verify
from .errors import ActionFailed
from .verify import Rows, busy, ready


def wants_policy(action: Action) -> bool:
    return action.kind == Action.Kind.LOAD and "version_policy" in action.parameters


def expected(action: Action) -> set[str]:
    return {str(v) for v in action.parameters.get("versions", [])}


def matches(action: Action, rows: Rows) -> bool:
    now_ready = ready(rows)
    want = expected(action)
    return bool(now_ready) and (not want or now_ready == want) and not busy(rows)


def run(action: Action) -> tuple[str, float]:
    """Bring the model to the action's policy; (result text, seconds Triton took)."""
    server, name = action.server, action.model
    policy: dict[str, Any] = dict(action.parameters["version_policy"])
    overrides: dict[str, Any] = dict(action.parameters.get("config_overrides") or {})
    found = verify.rows(server, name)
    before = sorted(ready(found))
    duration = 0.0
    preloaded = False
    if before:
        base = triton.model_config(server, name)
        previous = base.get("version_policy") or {"latest": {"num_versions": 1}}
        _note(action, {"previous_policy": previous, "previous_versions": before})
    else:
        stored = ModelConfig.objects.filter(server=server, name=name).values_list("config", flat=True).first()
        if stored:
            base = dict(stored)
        else:
            duration += triton.load_model(server, name)
            preloaded = True
            verify.wait_for(server, name, lambda r: bool(ready(r)) and not busy(r), "a READY version")
            base = triton.model_config(server, name)
        _note(action, {"previous_policy": None, "previous_versions": []})
    target = {**base, **overrides, "version_policy": policy}
    try:
        duration += triton.load_model(server, name, config=target)
    except triton.TritonError as exc:
        raise ActionFailed(f"{exc}{_undo_preload(server, name) if preloaded else ''}") from exc
    want = expected(action)
    swapping = time.monotonic()
    found = verify.wait_for(
        server, name, lambda r: matches(action, r), f"versions {sorted(want) or 'latest'} READY and no other"
    )
    # How long the index took to show only the wanted versions after the load returned:
    # mostly Triton unloading the versions the policy dropped.
    _note(action, {"swap_s": round(time.monotonic() - swapping, 3)})
    _keep_config(server, name)
    return (
        f"loaded in {duration:.2f} s with version_policy {policy}; READY versions {sorted(ready(found))}"
        f" (before: {before})",
        duration,
    )


def _undo_preload(server: Any, name: str) -> str:
    """The policy's load failed after config.pbtxt's: leave the model unloaded, as it was."""
    try:
        triton.unload_model(server, name)
    except triton.TritonError as exc:
        return f"; unloading the versions config.pbtxt loaded failed too: {exc}"
    return "; the versions config.pbtxt loaded were unloaded again"


def _keep_config(server: Any, name: str) -> None:
    """The live config (its version policy included) into the inventory now: the inventory
    rereads configs only of models whose index rows changed, and a new policy over the same
    READY versions changes none."""
    try:
        config = triton.model_config(server, name)
    except triton.TritonError:
        return  # the next inventory read of a changed model brings it
    ModelConfig.objects.update_or_create(server=server, name=name, defaults={"config": config})


def _note(action: Action, noted: dict[str, Any]) -> None:
    action.parameters = {**action.parameters, **noted}
    Action.objects.filter(id=action.id).update(parameters=action.parameters)
