"""How busy each model is, from one scrape's derived values and the model's config.

busy = rate(compute infer µs) / (instances × 10⁶): the share of its instances' time a model
spent executing. Triton adds an execution's compute time to every request of the batch, so
for a batching model the rate is scaled by executions per request (1 without batching).
Pure functions: the scrape path passes what it just derived, and each model's figures over
its versions (fleet.model_figures, computed once per scrape).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..derive import Derived
from ..model_figures import ModelFigures

__all__ = ["ModelFigures", "Shape", "busy_ratio", "gpu_count", "instances", "shape"]


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
