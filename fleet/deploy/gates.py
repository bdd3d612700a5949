"""The gates between a rollout's waves, run on each server of the wave.

- smoke: one inference against the new version explicitly (model_version=N) over HTTP
  through tritonclient (fleet.triton.infer). With the deployment's golden requests, every
  expected output must match within its tolerance; without them, inputs are generated from
  the config's shapes and datatypes (zeros; -1 dims as 1) and the inference must succeed.
- metrics: over the bake window, the new version's failures per second (Triton's own
  statistics, counted from the window's start) and its queue µs per request against the
  same server's previous versions before the change (their statistics at the wave's start).

A gate is {kind, server_id, passed, detail}; detail holds the evidence.
"""

from __future__ import annotations

import math
from typing import Any

from .. import triton
from ..models import Deployment, ModelConfig, Server
from . import golden

Gate = dict[str, Any]
Counts = dict[str, float]


def gate(kind: str, server: Server, passed: bool, **detail: Any) -> Gate:
    return {
        "kind": kind,
        "server_id": server.id,
        "server_name": server.name,
        "passed": passed,
        "detail": detail,
    }


def generated_inputs(config: dict[str, Any]) -> list[dict[str, Any]]:
    batched = int(config.get("max_batch_size") or 0) > 0
    inputs = []
    for item in config.get("input", []):
        dims = [max(int(d), 1) for d in item.get("dims", [])]
        shape = ([1] if batched else []) + (dims or [1])
        datatype = str(item.get("data_type", "TYPE_FP32")).removeprefix("TYPE_").replace("STRING", "BYTES")
        zero: Any = b"" if datatype == "BYTES" else (False if datatype == "BOOL" else 0)
        inputs.append(
            {"name": item["name"], "datatype": datatype, "shape": shape, "data": [zero] * math.prod(shape)}
        )
    return inputs


def smoke(server: Server, deployment: Deployment, version: str) -> Gate:
    requests = deployment.smoke or {}
    if requests.get("inputs"):
        inputs, expected = list(requests["inputs"]), list(requests.get("outputs", []))
        # Checked here again, on the live config: the deployment may have been saved while no
        # server served the model, when no config could be had (fleet.deploy.golden).
        why = _misfit(server, deployment.model, inputs)
        if why:
            return gate("smoke", server, False, version=version, error=why, golden=True)
    else:
        config = ModelConfig.objects.filter(server=server, name=deployment.model).values_list(
            "config", flat=True
        )
        inputs, expected = generated_inputs(config.first() or {}), []
    try:
        got = triton.infer(server, deployment.model, version, inputs, [o["name"] for o in expected])
    except triton.TritonError as exc:
        return gate("smoke", server, False, version=version, error=str(exc), golden=bool(expected))
    mismatches = []
    for want in expected:
        values = got.get(want["name"])
        tolerance = float(want.get("tolerance", 0) or 0)
        if values is None or not _close(values, list(want["data"]), tolerance):
            mismatches.append({"output": want["name"], "expected": want["data"], "got": values})
    outputs = {k: v[:16] for k, v in got.items()}
    return gate(
        "smoke",
        server,
        not mismatches,
        version=version,
        golden=bool(expected),
        outputs=outputs,
        mismatches=mismatches,
    )


def _misfit(server: Server, model: str, inputs: list[dict[str, Any]]) -> str | None:
    try:
        config = triton.model_config(server, model)
    except triton.TritonError:
        stored = ModelConfig.objects.filter(server=server, name=model).values_list("config", flat=True)
        config = stored.first() or {}
    return golden.misfit(inputs, config, model) if config else None


def _close(got: list[Any], want: list[Any], tolerance: float) -> bool:
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if isinstance(a, int | float) and isinstance(b, int | float):
            if abs(float(a) - float(b)) > tolerance:
                return False
        elif (a.decode() if isinstance(a, bytes) else a) != b:
            return False
    return True


def counts(server: Server, model: str, versions: set[str] | None = None) -> Counts:
    """Triton's cumulative counts for the model's versions (all when None): success, fail,
    queue_us."""
    total = {"success": 0.0, "fail": 0.0, "queue_us": 0.0}
    for entry in triton.model_statistics(server):
        if entry.get("name") != model or (versions is not None and str(entry.get("version")) not in versions):
            continue
        stats = entry.get("inference_stats") or {}
        total["success"] += float(stats.get("success", {}).get("count", 0))
        total["fail"] += float(stats.get("fail", {}).get("count", 0))
        total["queue_us"] += float(stats.get("queue", {}).get("ns", 0)) / 1000.0
    return total


def metrics(
    server: Server,
    thresholds: dict[str, float],
    baseline: Counts | None,
    start: Counts,
    end: Counts,
    bake_s: float,
) -> Gate:
    failures_per_s = max(end["fail"] - start["fail"], 0.0) / max(bake_s, 1e-9)
    served = max(end["success"] - start["success"], 0.0)
    queue_us = (end["queue_us"] - start["queue_us"]) / served if served else None
    before_us = baseline["queue_us"] / baseline["success"] if baseline and baseline["success"] else None
    limit_us = (
        thresholds["max_queue_ratio"] * before_us + thresholds["queue_slack_us"]
        if before_us is not None
        else None
    )
    reasons = []
    if failures_per_s > thresholds["max_failures_per_s"]:
        reasons.append(f"{failures_per_s:.3f} failures/s > {thresholds['max_failures_per_s']:g}")
    if queue_us is not None and limit_us is not None and queue_us > limit_us:
        reasons.append(f"queue {queue_us:.0f} µs/request > {limit_us:.0f}")
    return gate(
        "metrics",
        server,
        not reasons,
        bake_s=bake_s,
        requests=served,
        failures_per_s=round(failures_per_s, 4),
        queue_us_per_request=None if queue_us is None else round(queue_us, 1),
        baseline_queue_us_per_request=None if before_us is None else round(before_us, 1),
        queue_limit_us=None if limit_us is None else round(limit_us, 1),
        reasons=reasons,
    )
