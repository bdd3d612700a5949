"""Parse Triton's Prometheus exposition and derive FleetDeck's series from two scrapes.

Pure functions, no I/O, no Django: the scrape task feeds them text and the previous
snapshot. The rate math follows Prometheus' `rate()`:
- a counter that goes down was reset (server restart, model reload): count from zero;
- the first sample of a series has nothing to compare with and yields no rate;
- a per-request average exists only where the window saw requests (no "1 +" denominator);
- per-model series are summed over `gpu_uuid` (one series per GPU the model runs on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.parser import text_string_to_metric_families

Aggregate = Literal["sum", "mean"]


@dataclass(frozen=True)
class MetricInfo:
    unit: str
    description: str
    level: Literal["model", "server"]
    # How series of several versions (or GPUs, or failure reasons) combine into one.
    aggregate: Aggregate = "sum"
    # For averages: the rate of their denominator. Averages of several series are weighted by
    # it, so that queue µs per request over two versions is Σ queue µs / Σ requests.
    weight: str | None = None


PER_REQUEST = "requests_per_s"

METRICS: dict[str, MetricInfo] = {
    "requests_per_s": MetricInfo("requests/s", "Successful requests per second.", "model"),
    "inferences_per_s": MetricInfo("inferences/s", "Inferences per second (a batch of n counts n).", "model"),
    "executions_per_s": MetricInfo("executions/s", "Model executions per second.", "model"),
    "failures_per_s": MetricInfo("failures/s", "Failed requests per second, label = reason.", "model"),
    "request_us_per_request": MetricInfo(
        "µs/request", "Average end-to-end request time.", "model", "mean", PER_REQUEST
    ),
    "queue_us_per_request": MetricInfo(
        "µs/request", "Average time a request waited in the queue.", "model", "mean", PER_REQUEST
    ),
    "compute_input_us_per_request": MetricInfo(
        "µs/request", "Average time spent preparing inputs.", "model", "mean", PER_REQUEST
    ),
    "compute_infer_us_per_request": MetricInfo(
        "µs/request", "Average time spent executing the model.", "model", "mean", PER_REQUEST
    ),
    "compute_output_us_per_request": MetricInfo(
        "µs/request", "Average time spent extracting outputs.", "model", "mean", PER_REQUEST
    ),
    "avg_batch_size": MetricInfo(
        "inferences/execution", "Average batch size per execution.", "model", "mean", "executions_per_s"
    ),
    "pending_requests": MetricInfo("requests", "Requests waiting or running now (gauge).", "model"),
    "memory_usage_bytes": MetricInfo(
        "bytes", "Memory the statistics API reports for the model version.", "model"
    ),
    "gpu_memory_used_bytes": MetricInfo("bytes", "GPU memory used, label = GPU.", "server"),
    "gpu_memory_total_bytes": MetricInfo("bytes", "GPU memory total, label = GPU.", "server"),
    "gpu_utilization": MetricInfo("ratio", "GPU utilization 0..1, label = GPU.", "server", "mean"),
    "gpu_power_watts": MetricInfo("W", "GPU power draw, label = GPU.", "server"),
    "cpu_utilization": MetricInfo("ratio", "Server CPU utilization 0..1.", "server", "mean"),
    "cpu_memory_used_bytes": MetricInfo("bytes", "Server CPU memory used.", "server"),
    "cpu_memory_total_bytes": MetricInfo("bytes", "Server CPU memory total.", "server"),
}


def combine(
    metric: str, values: Sequence[float], weights: Sequence[float | None] | None = None
) -> float | None:
    """Several series of one metric (versions, GPUs, reasons, models) as one number.

    Rates and gauges add up. Averages are weighted by their denominator's rate where every
    weight is known and their sum is positive (exact: Σ avg·requests / Σ requests is
    Σ queue µs / Σ requests over the same window); otherwise a plain mean.
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


# Per-model counter families and the short names used in snapshots.
_MODEL_COUNTERS = {
    "nv_inference_request_success": "success",
    "nv_inference_request_failure": "failure",
    "nv_inference_count": "count",
    "nv_inference_exec_count": "exec",
    "nv_inference_request_duration_us": "request_us",
    "nv_inference_queue_duration_us": "queue_us",
    "nv_inference_compute_input_duration_us": "compute_input_us",
    "nv_inference_compute_infer_duration_us": "compute_infer_us",
    "nv_inference_compute_output_duration_us": "compute_output_us",
}
_MODEL_GAUGES = {"nv_inference_pending_request_count": "pending"}
_GPU_GAUGES = {
    "nv_gpu_memory_used_bytes": "gpu_memory_used_bytes",
    "nv_gpu_memory_total_bytes": "gpu_memory_total_bytes",
    "nv_gpu_utilization": "gpu_utilization",
    "nv_gpu_power_usage": "gpu_power_watts",
}
_CPU_GAUGES = {
    "nv_cpu_utilization": "cpu_utilization",
    "nv_cpu_memory_used_bytes": "cpu_memory_used_bytes",
    "nv_cpu_memory_total_bytes": "cpu_memory_total_bytes",
}
_PER_REQUEST = {
    "request_us": "request_us_per_request",
    "queue_us": "queue_us_per_request",
    "compute_input_us": "compute_input_us_per_request",
    "compute_infer_us": "compute_infer_us_per_request",
    "compute_output_us": "compute_output_us_per_request",
}

# A snapshot key: "family|model|version|label". Strings, so snapshots store as JSON.
SEP = "|"


class MetricsParseError(ValueError):
    """The body is not Prometheus text, or not from a Triton server."""


@dataclass
class Snapshot:
    """What one scrape read: cumulative counters and current gauges, keyed for JSON."""

    at: float
    counters: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"at": self.at, "counters": self.counters, "gauges": self.gauges}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> Snapshot | None:
        if not data:
            return None
        counters = data.get("counters")
        gauges = data.get("gauges")
        at = data.get("at")
        if not isinstance(counters, dict) or not isinstance(gauges, dict):
            return None
        if not isinstance(at, (int, float)):
            return None
        return cls(at=float(at), counters=dict(counters), gauges=dict(gauges))


@dataclass(frozen=True)
class Derived:
    """One derived value: model/version empty for server-level metrics."""

    metric: str
    value: float
    model: str = ""
    version: str = ""
    label: str = ""


def _key(*parts: str) -> str:
    return SEP.join(parts)


def parse(text: str, at: float) -> Snapshot:
    """Read Triton's exposition into a snapshot, summing per-model series over `gpu_uuid`."""
    snapshot = Snapshot(at=at)
    seen_triton = False
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError, IndexError, KeyError...
        raise MetricsParseError(f"not Prometheus text: {exc}") from exc
    for family in families:
        # The family name, not the sample's: the parser renames counter samples to *_total.
        name = family.name
        for sample in family.samples:
            labels, value = sample.labels, float(sample.value)
            if name in _MODEL_COUNTERS or name in _MODEL_GAUGES:
                seen_triton = True
                short = _MODEL_COUNTERS.get(name) or _MODEL_GAUGES[name]
                key = _key(
                    short,
                    labels.get("model", ""),
                    labels.get("version", ""),
                    labels.get("reason", "") if short == "failure" else "",
                )
                target = snapshot.counters if name in _MODEL_COUNTERS else snapshot.gauges
                target[key] = target.get(key, 0.0) + value
            elif name in _GPU_GAUGES:
                seen_triton = True
                gpu = labels.get("gpu_uuid", "")
                snapshot.gauges[_key(_GPU_GAUGES[name], "", "", gpu)] = value
            elif name in _CPU_GAUGES:
                seen_triton = True
                snapshot.gauges[_key(_CPU_GAUGES[name], "", "", "")] = value
            elif name.startswith("nv_"):
                seen_triton = True
    if not seen_triton and families:
        raise MetricsParseError("no nv_* metrics: is this a Triton metrics endpoint?")
    return snapshot


def _delta(previous: float | None, current: float) -> float | None:
    """Increase of a counter; a decrease means it was reset and restarted from zero."""
    if previous is None:
        return None
    return current - previous if current >= previous else current


def derive(previous: Snapshot | None, current: Snapshot) -> list[Derived]:
    """The series values for the window (previous.at, current.at]."""
    out: list[Derived] = []
    for key, value in current.gauges.items():
        short, model, version, label = key.split(SEP)
        metric = "pending_requests" if short == "pending" else short
        out.append(Derived(metric, value, model, version, label))

    if previous is None or current.at <= previous.at:
        return out
    dt = current.at - previous.at

    # Triton 2.51 keeps a model's per-reason failure counters after it is unloaded (seen
    # here), while its other series go. A version is live only while its success counter
    # is exported, so an unloaded model gets a gap, not a flat line of zero failures.
    live = {tuple(key.split(SEP)[1:3]) for key in current.counters if key.startswith("success" + SEP)}
    deltas: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for key, value in current.counters.items():
        delta = _delta(previous.counters.get(key), value)
        if delta is None:
            continue
        short, model, version, label = key.split(SEP)
        if short == "failure":
            if (model, version) in live:
                out.append(Derived("failures_per_s", delta / dt, model, version, label))
        else:
            deltas[(model, version)][short] = delta

    for (model, version), d in deltas.items():
        if "success" in d:
            out.append(Derived("requests_per_s", d["success"] / dt, model, version))
        if "count" in d:
            out.append(Derived("inferences_per_s", d["count"] / dt, model, version))
        if "exec" in d:
            out.append(Derived("executions_per_s", d["exec"] / dt, model, version))
        requests = d.get("success", 0.0)
        if requests > 0:
            for short, metric in _PER_REQUEST.items():
                if short in d:
                    out.append(Derived(metric, d[short] / requests, model, version))
        executions = d.get("exec", 0.0)
        if executions > 0 and "count" in d:
            out.append(Derived("avg_batch_size", d["count"] / executions, model, version))
    return out
