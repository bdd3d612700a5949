"""The metric catalog: one row per series FleetDeck shows, and everything known about it.

A row names the Triton families a series comes from and how it is derived from them, its
PromQL, unit, display format, title, and how several series of it (versions, GPUs, servers)
combine into one number. Every consumer derives from this table: the exposition parser
(fleet.derive), Prometheus mode (fleet.prometheus), the API, the template filters, and the
pages' scripts, which receive `seed()` in their page data. Adding a metric is one row;
tests/fleet/test_catalog_rows.py walks the table to prove every consumer handles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

GIB = 1024**3
MIB = 1024**2

Level = Literal["model", "server"]
# How several series of one metric combine: rates and gauges add up, averages are means
# (weighted by `weight` where the metric has one).
Aggregate = Literal["sum", "mean"]
# rate: Δ counter / Δt. ratio: Δ numerator / Δ denominator, only where Δ denominator > 0.
# gauge: the value now. statistics: read from Triton's statistics API, not the exposition.
Derivation = Literal["rate", "ratio", "gauge", "statistics"]
# How a value reads (template filters, static/dashboard/format.js): rate = 3 significant
# digits, count = an integer, us = µs/ms/s, bytes = B/KiB/MiB/GiB, percent = a 0..1 ratio.
Format = Literal["rate", "count", "us", "bytes", "percent"]


@dataclass(frozen=True)
class Metric:
    name: str
    level: Level
    derivation: Derivation
    # The Triton families read: the counter or gauge; for a ratio (numerator, denominator).
    families: tuple[str, ...]
    unit: str
    format: Format
    title: str
    description: str
    # The one Triton label kept as the series' label ("reason", "gpu_uuid"); every other
    # label but model and version is summed over (a model on two GPUs is one series).
    label: str = ""
    aggregate: Aggregate = "sum"
    # For averages: the metric holding the rate of their denominator. Several series are
    # weighted by it, so queue µs per request over two versions is Σ queue µs / Σ requests.
    weight: str | None = None

    def promql(self, sel: str, window: str, by: str = "") -> str | None:
        """The PromQL for this metric over a selector (`{instance="..."}`), or None where
        Prometheus does not have it. `by` ("instance, model") keeps those labels."""
        agg = f"sum by ({by}) " if by else "sum"
        if self.derivation == "rate":
            return f"{agg}(rate({self.families[0]}{sel}[{window}]))"
        if self.derivation == "ratio":
            numerator, denominator = self.families
            below = f"{agg}(rate({denominator}{sel}[{window}]))"
            # `> 0` drops windows without requests: no point rather than a division by zero.
            return f"{agg}(rate({numerator}{sel}[{window}])) / ({below} > 0)"
        if self.derivation == "gauge":
            how = "avg" if self.aggregate == "mean" else "sum"
            return f"{how}{f' by ({by}) ' if by else ''}({self.families[0]}{sel})"
        return None


def _per_request(name: str, family: str, title: str, description: str) -> Metric:
    return Metric(
        name, "model", "ratio", (family, "nv_inference_request_success"), "µs/request", "us", title,
        description, aggregate="mean", weight="requests_per_s",
    )  # fmt: skip


CATALOG: tuple[Metric, ...] = (
    Metric(
        "requests_per_s", "model", "rate", ("nv_inference_request_success",), "requests/s", "rate",
        "Requests/s", "Successful requests per second.",
    ),
    Metric(
        "inferences_per_s", "model", "rate", ("nv_inference_count",), "inferences/s", "rate",
        "Inferences/s", "Inferences per second (a batch of n counts n).",
    ),
    Metric(
        "executions_per_s", "model", "rate", ("nv_inference_exec_count",), "executions/s", "rate",
        "Executions/s", "Model executions per second.",
    ),
    Metric(
        "failures_per_s", "model", "rate", ("nv_inference_request_failure",), "failures/s", "rate",
        "Failures/s", "Failed requests per second, label = reason.", label="reason",
    ),
    _per_request(
        "request_us_per_request", "nv_inference_request_duration_us", "Request time per request",
        "Average end-to-end request time.",
    ),
    _per_request(
        "queue_us_per_request", "nv_inference_queue_duration_us", "Queue time per request",
        "Average time a request waited in the queue.",
    ),
    _per_request(
        "compute_input_us_per_request", "nv_inference_compute_input_duration_us",
        "Compute input per request", "Average time spent preparing inputs.",
    ),
    _per_request(
        "compute_infer_us_per_request", "nv_inference_compute_infer_duration_us",
        "Compute infer per request", "Average time spent executing the model.",
    ),
    _per_request(
        "compute_output_us_per_request", "nv_inference_compute_output_duration_us",
        "Compute output per request", "Average time spent extracting outputs.",
    ),
    Metric(
        "avg_batch_size", "model", "ratio", ("nv_inference_count", "nv_inference_exec_count"),
        "inferences/execution", "rate", "Average batch size", "Average batch size per execution.",
        aggregate="mean", weight="executions_per_s",
    ),
    Metric(
        "pending_requests", "model", "gauge", ("nv_inference_pending_request_count",), "requests",
        "count", "Pending requests", "Requests waiting or running now (gauge).",
    ),
    Metric(
        "memory_usage_bytes", "model", "statistics", (), "bytes", "bytes",
        "Memory usage (statistics API)", "Memory the statistics API reports for the model version.",
    ),
    Metric(
        "gpu_memory_used_bytes", "server", "gauge", ("nv_gpu_memory_used_bytes",), "bytes", "bytes",
        "GPU memory used", "GPU memory used, label = GPU.", label="gpu_uuid",
    ),
    Metric(
        "gpu_memory_total_bytes", "server", "gauge", ("nv_gpu_memory_total_bytes",), "bytes", "bytes",
        "GPU memory total", "GPU memory total, label = GPU.", label="gpu_uuid",
    ),
    Metric(
        "gpu_utilization", "server", "gauge", ("nv_gpu_utilization",), "ratio", "percent",
        "GPU utilization", "GPU utilization 0..1, label = GPU.", label="gpu_uuid", aggregate="mean",
    ),
    Metric(
        "gpu_power_watts", "server", "gauge", ("nv_gpu_power_usage",), "W", "rate", "GPU power",
        "GPU power draw, label = GPU.", label="gpu_uuid",
    ),
    Metric(
        "cpu_utilization", "server", "gauge", ("nv_cpu_utilization",), "ratio", "percent",
        "CPU utilization", "Server CPU utilization 0..1.", aggregate="mean",
    ),
    Metric(
        "cpu_memory_used_bytes", "server", "gauge", ("nv_cpu_memory_used_bytes",), "bytes", "bytes",
        "CPU memory used", "Server CPU memory used.",
    ),
    Metric(
        "cpu_memory_total_bytes", "server", "gauge", ("nv_cpu_memory_total_bytes",), "bytes", "bytes",
        "CPU memory total", "Server CPU memory total.",
    ),
)  # fmt: skip

METRICS: dict[str, Metric] = {m.name: m for m in CATALOG}

# What Prometheus has (everything read from the exposition), in catalog order.
PROMETHEUS_METRICS: tuple[str, ...] = tuple(m.name for m in CATALOG if m.derivation != "statistics")


def combine(
    metric: str, values: Sequence[float], weights: Sequence[float | None] | None = None
) -> float | None:
    """Several series of one metric (versions, GPUs, reasons, models) as one number.

    Rates and gauges add up. Averages are weighted by their denominator's rate where every
    weight is known and their sum is positive (exact: Σ avg·requests / Σ requests is
    Σ queue µs / Σ requests over the same window); otherwise a plain mean.
    static/dashboard/format.js `combine` is the same rule, fed by `seed()`.
    """
    if not values:
        return None
    info = METRICS[metric]
    if info.aggregate == "sum":
        return float(sum(values))
    if weights is not None and len(weights) == len(values) and all(w is not None for w in weights):
        total = sum(w for w in weights if w is not None)
        if total > 0:
            return sum(v * w for v, w in zip(values, weights, strict=True) if w is not None) / total
    return sum(values) / len(values)


class MetricSeed(TypedDict):
    """What a page's script knows of a metric (page data `metrics`)."""

    unit: str
    format: Format
    title: str
    level: Level
    label: str
    aggregate: Aggregate
    weight: str | None


def seed() -> dict[str, MetricSeed]:
    return {
        m.name: {
            "unit": m.unit,
            "format": m.format,
            "title": m.title,
            "level": m.level,
            "label": m.label,
            "aggregate": m.aggregate,
            "weight": m.weight,
        }
        for m in CATALOG
    }
