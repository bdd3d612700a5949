"""How busy each model is, from one scrape's derived values and the model's config.

busy = rate(compute infer µs) / (instances × 10⁶): the share of its instances' time a model
spent executing. Triton adds an execution's compute time to every request of the batch, so
for a batching model the rate is scaled by executions per request (1 without batching).
Pure functions: the scrape path passes what it just derived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from ..catalog import combine
from ..derive import Derived

# The per-model figures a rule or a cause reads, versions combined.
RATE_METRICS = ("requests_per_s", "executions_per_s", "failures_per_s", "pending_requests")
AVERAGES = {  # metric -> the rate that weighs it
    "queue_us_per_request": "requests_per_s",
    "compute_infer_us_per_request": "requests_per_s",
}


READ = frozenset(RATE_METRICS) | frozenset(AVERAGES)


class ModelFigures(TypedDict, total=False):
    requests_per_s: float
    executions_per_s: float
    failures_per_s: float
    pending_requests: float
    queue_us_per_request: float
    compute_infer_us_per_request: float
    compute_infer_us_per_s: float  # rate(compute infer µs), summed over versions


@dataclass(frozen=True)
class Shape:
    """What a model's config says about its capacity."""

    instances: int  # instances on the CPU or on listed GPUs
    per_gpu: int  # KIND_GPU instances without a `gpus` list: this many on each GPU
    max_queue_delay_us: float | None
    rate_limited: bool


def shape(config: Mapping[str, Any]) -> Shape:
    """The instance count, batcher delay and rate limiter of a config (GET .../config)."""
    fixed, per_gpu, limited = 0, 0, False
    for group in config.get("instance_group") or [{}]:
        count = int(group.get("count") or 1)
        gpus = group.get("gpus") or []
        if group.get("kind") == "KIND_GPU" and not gpus:
            per_gpu += count
        else:
            fixed += count * max(1, len(gpus))
        limited = limited or bool(group.get("rate_limiter"))
    batching = config.get("dynamic_batching")
    delay = None
    if isinstance(batching, dict) and batching.get("max_queue_delay_microseconds") is not None:
        delay = float(batching["max_queue_delay_microseconds"])
    return Shape(fixed, per_gpu, delay, limited)


def instances(model: Shape, gpus: int) -> int:
    return model.instances + model.per_gpu * max(1, gpus)


def per_model(values: Iterable[Derived]) -> dict[str, ModelFigures]:
    """Each model's figures over its versions: rates add up, averages are weighted by their
    version's request rate (as fleet.catalog.combine)."""
    rows: dict[str, dict[str, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for v in values:
        if v.model and v.metric in READ:  # a scrape derives ~12 metrics per version; 6 are read
            rows[v.model][v.metric].append((v.version, v.value))
    out: dict[str, ModelFigures] = {}
    for model, metrics in rows.items():
        figures: dict[str, float] = {}
        for metric in RATE_METRICS:
            if metric in metrics:
                figures[metric] = float(sum(value for _, value in metrics[metric]))
        rates = dict(metrics.get("requests_per_s", []))
        for metric in AVERAGES:
            if metric in metrics:
                weights = [rates.get(version) for version, _ in metrics[metric]]
                found = combine(metric, [value for _, value in metrics[metric]], weights)
                if found is not None:
                    figures[metric] = found
        infer = [
            value * rates[version]
            for version, value in metrics.get("compute_infer_us_per_request", [])
            if version in rates
        ]
        if infer:
            figures["compute_infer_us_per_s"] = float(sum(infer))
        out[model] = figures  # type: ignore[assignment]
    return out


def busy_ratio(figures: ModelFigures, model: Shape | None, gpus: int) -> float | None:
    """The share of the model's instances' time spent computing, or None when unknown."""
    infer = figures.get("compute_infer_us_per_s")
    if infer is None or model is None:
        return None
    count = instances(model, gpus)
    if count <= 0:
        return None
    requests, executions = figures.get("requests_per_s"), figures.get("executions_per_s")
    if requests and executions is not None and executions < requests:
        infer *= executions / requests  # one execution's time, counted once per batch
    return infer / (count * 1e6)


def gpu_count(values: Iterable[Derived]) -> int:
    return len({v.label for v in values if not v.model and v.metric == "gpu_utilization"})
