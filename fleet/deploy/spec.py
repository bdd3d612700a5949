"""What a deployment may hold, its defaults, and saving it with its history.

Bad input raises `fleet.control.errors.InvalidRequest` (HTTP 400) with a message that names
what is wrong: the selector that matches no server, the golden input the model lacks (when
no config of the model can be had yet, the canary's smoke gate checks that: fleet.deploy
.golden).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..control.errors import InvalidRequest
from ..control.requests import is_plain_model_name
from ..models import Deployment, DeploymentChange, Server
from . import golden, selector

LATEST = "latest"
GATE_DEFAULTS: dict[str, float] = {
    "bake_s": 60.0,
    "max_failures_per_s": 0.0,  # no new failures
    "max_queue_ratio": 2.0,  # queue time <= 2x baseline + queue_slack_us
    "queue_slack_us": 5000.0,
    "max_unavailable": 0.25,  # a fraction of the servers, or a count when >= 1
    "canary": 1,
}
FIELDS = (
    "name",
    "model",
    "selector",
    "server_ids",
    "versions",
    "pinned",
    "config",
    "smoke",
    "gates",
    "smoke_check",
    "paused",
)
SMOKE_FITS = "fits"  # the golden inputs fit the model's config when saved
SMOKE_AT_CANARY = "at_canary"  # no config could be had then: the canary's smoke gate checks them
_DATATYPES = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
_DATATYPES |= {"FP16", "FP32", "FP64", "BYTES", "BF16"}


def versions_of(value: Any) -> list[int] | str:
    if value == LATEST:
        return LATEST
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise InvalidRequest('versions must be a non-empty list of positive integers, or "latest"')
    return sorted(set(value))


def policy(versions: list[int] | str) -> dict[str, Any]:
    """Triton's version_policy for the deployment's versions."""
    if versions == LATEST:
        return {"latest": {"num_versions": 1}}
    return {"specific": {"versions": list(versions)}}


def expected(versions: list[int] | str) -> list[str]:
    """The versions the index must show READY ([] for latest: any one)."""
    return [] if versions == LATEST else [str(v) for v in versions]


def gates_of(deployment: Deployment) -> dict[str, float]:
    return {**GATE_DEFAULTS, **(deployment.gates or {})}


def clean(data: dict[str, Any], current: Deployment | None = None) -> dict[str, Any]:
    """The fields of a new deployment (current=None) or of a change, validated."""
    out: dict[str, Any] = {}
    if current is None or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidRequest("name must be a non-empty string of at most 100 characters")
        out["name"] = name
    if current is None or "model" in data:
        model = data.get("model")
        if not isinstance(model, str) or not is_plain_model_name(model):
            raise InvalidRequest(f"{model!r} is not a plain model name")
        out["model"] = model
    if "selector" in data or "servers" in data or current is None:
        out.update(_target(data))
    if current is None or "versions" in data:
        out["versions"] = versions_of(data.get("versions"))
    for key in ("pinned", "paused"):
        if key in data:
            if not isinstance(data[key], bool):
                raise InvalidRequest(f"{key} must be true or false")
            out[key] = data[key]
    for key in ("config", "smoke", "gates"):
        if key in data:
            if not isinstance(data[key], dict):
                raise InvalidRequest(f"{key} must be an object")
            out[key] = data[key]
    if "gates" in out:
        _check_gates(out["gates"])
    merged = {f: getattr(current, f) for f in FIELDS} if current else {}
    merged.update(out)
    servers = selector.select(merged.get("selector") or {}, merged.get("server_ids") or [])
    if not servers:
        raise InvalidRequest(f"selector {merged.get('selector')} matches no server")
    if merged.get("smoke"):
        out["smoke_check"] = _check_smoke(merged["smoke"], str(merged["model"]), servers)
    elif "smoke" in out:
        out["smoke_check"] = ""
    return out


def _target(data: dict[str, Any]) -> dict[str, Any]:
    chosen, listed = data.get("selector"), data.get("servers")
    if (chosen is None) == (listed is None):
        raise InvalidRequest("give either selector ({label: value}) or servers (a list of server ids)")
    if chosen is not None:
        if not isinstance(chosen, dict) or not chosen or not all(isinstance(v, str) for v in chosen.values()):
            raise InvalidRequest("selector must be a non-empty object of label: value strings")
        return {"selector": chosen, "server_ids": []}
    if not isinstance(listed, list) or not listed or not all(isinstance(i, int) for i in listed):
        raise InvalidRequest("servers must be a non-empty list of server ids")
    known = set(Server.objects.filter(id__in=listed).values_list("id", flat=True))
    missing = sorted(set(listed) - known)
    if missing:
        raise InvalidRequest(f"no server with id {missing[0]}")
    return {"selector": {}, "server_ids": sorted(set(listed))}


def _check_gates(gates: dict[str, Any]) -> None:
    for key, value in gates.items():
        if key not in GATE_DEFAULTS:
            raise InvalidRequest(f"unknown gate {key!r} (known: {', '.join(GATE_DEFAULTS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidRequest(f"gate {key} must be a number >= 0")


def _check_smoke(smoke: dict[str, Any], model: str, servers: list[Server]) -> str:
    """The golden requests' form, and their fit to the model's inputs where a config can be
    had (fleet.deploy.golden: otherwise the canary's smoke gate checks them). Returns when
    the fit was or will be checked (SMOKE_FITS, SMOKE_AT_CANARY), for the record."""
    inputs, outputs = smoke.get("inputs"), smoke.get("outputs", [])
    if not isinstance(inputs, list) or not inputs or not isinstance(outputs, list):
        raise InvalidRequest("smoke needs inputs (a list) and outputs (a list)")
    for item in inputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidRequest("each smoke input needs a name, datatype, shape and data")
        name = item["name"]
        if item.get("datatype") not in _DATATYPES or not isinstance(item.get("shape"), list):
            raise InvalidRequest(f"smoke input {name}: datatype must be one of Triton's, shape a list")
        if not isinstance(item.get("data"), list):
            raise InvalidRequest(f"smoke input {name}: data must be a list")
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "data" not in item:
            raise InvalidRequest("each smoke output needs a name and data")
    config = golden.known_config(model, servers)
    if config is None:
        return SMOKE_AT_CANARY
    why = golden.misfit(inputs, config, model)
    if why:
        raise InvalidRequest(why)
    return SMOKE_FITS


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def snapshot(deployment: Deployment) -> dict[str, Any]:
    return {f: getattr(deployment, f) for f in FIELDS}


def create(data: dict[str, Any], user: Any) -> Deployment:
    fields = clean(data)
    if Deployment.objects.filter(name=fields["name"]).exists():
        raise InvalidRequest(f"a deployment named {fields['name']!r} exists")
    with transaction.atomic():
        deployment = Deployment.objects.create(**fields)
        note(deployment, "created", _diff({}, snapshot(deployment)), user)
    return deployment


def change(
    deployment: Deployment, fields: dict[str, Any], user: Any, kind: str = "changed"
) -> dict[str, Any]:
    """Save cleaned fields with a history row; returns the diff ({} when nothing changed)."""
    diff = _diff(snapshot(deployment), fields)
    if diff:
        for key, value in fields.items():
            setattr(deployment, key, value)
        deployment.save()
        note(deployment, kind, diff, user)
    return diff


def note(deployment: Deployment, kind: str, diff: dict[str, Any], user: Any) -> None:
    DeploymentChange.objects.create(
        deployment=deployment,
        deployment_name=deployment.name,
        kind=kind,
        changes=diff,
        changed_by=user if getattr(user, "pk", None) else None,
    )
