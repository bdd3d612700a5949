"""Each model's figures over its versions, from one scrape's derived values: computed once per
scrape (fleet.services.Live) and read by the overview's rankings (fleet.frames.summary) and by
alert evaluation (fleet.alerting), which used to walk the same ~1,400 values again each.

Rates and gauges add up over versions; averages are weighted by their version's request rate
where every version has one (as fleet.catalog.combine, the rule for every other consumer),
else a plain mean. One pass over the values, then one over the averages' few rows: this runs
in every scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from .catalog import METRICS
from .derive import Derived

# The per-model figures the rankings, the rules and the causes read, versions combined.
SUMS = frozenset(
    {"inferences_per_s", "requests_per_s", "executions_per_s", "failures_per_s", "pending_requests"}
)
# Averages, each weighted by its version's rate of the catalog's `weight` for it: one and the
# same for both (requests/s), which the single pass below relies on (unpacking fails if not).
AVERAGES = frozenset({"queue_us_per_request", "compute_infer_us_per_request"})
(WEIGHT,) = {METRICS[metric].weight for metric in AVERAGES}


class ModelFigures(TypedDict, total=False):
    inferences_per_s: float
    requests_per_s: float
    executions_per_s: float
    failures_per_s: float
    pending_requests: float
    queue_us_per_request: float
    compute_infer_us_per_request: float
    compute_infer_us_per_s: float  # rate(compute infer µs): Σ its average × requests/s


def per_model(values: Iterable[Derived]) -> dict[str, ModelFigures]:
    """{model: figures} for every model with one of the figures in `values`."""
    out: dict[str, dict[str, float]] = {}
    rates: dict[tuple[str, str], float] = {}  # (model, version) -> requests/s
    averages: list[Derived] = []
    for v in values:
        metric, value, model, version, _ = v  # unpacked: a NamedTuple's fields are slower
        if not model:
            continue
        if metric in SUMS:
            figures = out.get(model)
            if figures is None:
                figures = out[model] = {}
            figures[metric] = figures.get(metric, 0.0) + value
            if metric == WEIGHT:
                rates[(model, version)] = value
        elif metric in AVERAGES:
            averages.append(v)
    # (model, metric) -> [Σ value × weight, Σ weight, Σ value, versions, versions weighted]
    sums: dict[tuple[str, str], list[float]] = {}
    for metric, value, model, version, _ in averages:
        weight = rates.get((model, version))
        acc = sums.get((model, metric))
        if acc is None:
            acc = sums[(model, metric)] = [0.0, 0.0, 0.0, 0.0, 0.0]
        if weight is not None:
            acc[0] += value * weight
            acc[1] += weight
            acc[4] += 1
        acc[2] += value
        acc[3] += 1
    for (model, metric), (weighted, total, plain, count, known) in sums.items():
        figures = out.get(model)
        if figures is None:
            figures = out[model] = {}
        figures[metric] = weighted / total if known == count and total > 0 else plain / count
        if metric == "compute_infer_us_per_request" and known:
            figures["compute_infer_us_per_s"] = weighted  # the versions with a known rate
    return out  # type: ignore[return-value]
