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

Afterwards the live config is read back and must carry the policy and every key the
overrides set. Triton's reload check ignores version_policy: a load whose policy yields the
versions already READY leaves them loaded with the config they had, old policy included, and
reloading with the same policy again changes nothing (a reconciler that trusted such a load
would load for ever). So a config that does not carry them is loaded once more with a
parameter whose new value Triton must reload for (`overrides.RELOAD_MARKER`; Triton serves
the old versions until the new ones are READY); still not carried, the action fails with
what differs, and the reconciler backs off.
"""

from __future__ import annotations

import time
from typing import Any

from .. import services, triton
from ..models import Action, ModelConfig
from . import overrides as _overrides
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
    target = {**_overrides.merged(base, overrides), "version_policy": policy}
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
    duration += _carried(action, target, policy, overrides)
    return (
        f"loaded in {duration:.2f} s with version_policy {policy}; READY versions {sorted(ready(found))}"
        f" (before: {before})",
        duration,
    )


def _carried(
    action: Action, target: dict[str, Any], policy: dict[str, Any], overrides: dict[str, Any]
) -> float:
    """Make sure the live config carries the policy and the overrides, reloading
    once with the marker if it does not; keeps the live config in the inventory. Returns the
    seconds the extra load took."""
    server, name = action.server, action.model
    try:
        live = services.keep_live_config(server, name)
    except triton.TritonError as exc:
        raise ActionFailed(f"loaded, but its config could not be read back: {exc}") from exc
    if not _overrides.config_drift(live, policy, overrides):
        return 0.0
    duration = triton.load_model(server, name, config=_overrides.with_reload_marker(target, f"#{action.id}"))
    verify.wait_for(server, name, lambda r: matches(action, r), "the same versions READY after the reload")
    live = services.keep_live_config(server, name)
    _note(action, {"reloaded_for_config": True})
    left = _overrides.config_drift(live, policy, overrides)
    if left:
        raise ActionFailed(f"Triton's config still differs after a forced reload: {'; '.join(left)}")
    return duration


def _undo_preload(server: Any, name: str) -> str:
    """The policy's load failed after config.pbtxt's: leave the model unloaded, as it was."""
    try:
        triton.unload_model(server, name)
    except triton.TritonError as exc:
        return f"; unloading the versions config.pbtxt loaded failed too: {exc}"
    return "; the versions config.pbtxt loaded were unloaded again"


def _note(action: Action, noted: dict[str, Any]) -> None:
    action.parameters = {**action.parameters, **noted}
    Action.objects.filter(id=action.id).update(parameters=action.parameters)
