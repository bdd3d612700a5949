"""Prometheus as the metrics source (PROMETHEUS_URL set): series from PromQL.

The same metric names and units as the built-in scraper (fleet.metrics.METRICS), so pages
and the API do not change. The rules are the same too, written in PromQL:
- rates with `rate()` (resets handled by Prometheus), summed over `gpu_uuid`;
- per-request averages as a ratio of rates, guarded with `> 0` so windows without requests
  yield no point instead of a division by zero;
- a server is selected by its `instance` label, the host:port of its metrics URL, as
  Prometheus' static and most service-discovery configs set it.
`memory_usage_bytes` is not in Prometheus (it comes from Triton's statistics API), so it
is still read from FleetDeck's own storage.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from requests import RequestException

from .metrics import METRICS
from .models import Server
from .storage import with_gaps

_COUNTERS = {
    "requests_per_s": "nv_inference_request_success",
    "inferences_per_s": "nv_inference_count",
    "executions_per_s": "nv_inference_exec_count",
    "failures_per_s": "nv_inference_request_failure",
}
_PER_REQUEST = {
    "request_us_per_request": "nv_inference_request_duration_us",
    "queue_us_per_request": "nv_inference_queue_duration_us",
    "compute_input_us_per_request": "nv_inference_compute_input_duration_us",
    "compute_infer_us_per_request": "nv_inference_compute_infer_duration_us",
    "compute_output_us_per_request": "nv_inference_compute_output_duration_us",
}
_GAUGES = {
    "pending_requests": ("sum", "nv_inference_pending_request_count"),
    "gpu_memory_used_bytes": ("sum", "nv_gpu_memory_used_bytes"),
    "gpu_memory_total_bytes": ("sum", "nv_gpu_memory_total_bytes"),
    "gpu_utilization": ("avg", "nv_gpu_utilization"),
    "gpu_power_watts": ("sum", "nv_gpu_power_usage"),
    "cpu_utilization": ("avg", "nv_cpu_utilization"),
    "cpu_memory_used_bytes": ("sum", "nv_cpu_memory_used_bytes"),
    "cpu_memory_total_bytes": ("sum", "nv_cpu_memory_total_bytes"),
}
# The label that `label=` filters on, per metric.
_LABEL = {"failures_per_s": "reason", **{m: "gpu_uuid" for m in _GAUGES if m.startswith("gpu_")}}

SUPPORTED = set(_COUNTERS) | set(_PER_REQUEST) | set(_GAUGES) | {"avg_batch_size"}


class PrometheusError(Exception):
    """Prometheus could not be reached or refused the query."""


def instance(server: Server) -> str:
    """The `instance` label Prometheus gives the server's metrics target."""
    return urlsplit(server.metrics_url).netloc


def _quote(value: str) -> str:
    """A PromQL string literal (model names come from servers we do not own)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(server: Server, model: str = "", version: str | None = None, **labels: str | None) -> str:
    matchers = [f"instance={_quote(instance(server))}"]
    if model:
        matchers.append(f"model={_quote(model)}")
    if version is not None:
        matchers.append(f"version={_quote(version)}")
    matchers += [f"{name}={_quote(value)}" for name, value in labels.items() if value is not None]
    return "{" + ",".join(matchers) + "}"


def promql(metric: str, sel: str, window: str, by: str = "") -> str:
    """The PromQL expression for one FleetDeck metric over a selector.

    `by` ("model, version") keeps those labels instead of summing over them.
    """
    agg = f"sum by ({by}) " if by else "sum"
    if metric in _COUNTERS:
        return f"{agg}(rate({_COUNTERS[metric]}{sel}[{window}]))"
    if metric in _PER_REQUEST:
        requests = f"{agg}(rate(nv_inference_request_success{sel}[{window}]))"
        return f"{agg}(rate({_PER_REQUEST[metric]}{sel}[{window}])) / ({requests} > 0)"
    if metric == "avg_batch_size":
        executions = f"{agg}(rate(nv_inference_exec_count{sel}[{window}]))"
        return f"{agg}(rate(nv_inference_count{sel}[{window}])) / ({executions} > 0)"
    how, family = _GAUGES[metric]
    return f"{how}{f' by ({by}) ' if by else ''}({family}{sel})"


def _client() -> PrometheusConnect:
    return PrometheusConnect(
        url=settings.PROMETHEUS_URL, disable_ssl=True, timeout=settings.FLEET_HTTP_READ_TIMEOUT
    )


def _step(since: timedelta) -> float:
    """About 600 points per window, never finer than the scrape interval."""
    return max(settings.FLEET_SCRAPE_INTERVAL, since.total_seconds() / 600)


def range_query(
    server: Server,
    metric: str,
    since: timedelta,
    model: str = "",
    version: str | None = None,
    label: str | None = None,
    now: datetime | None = None,
) -> list[tuple[float, float | None]]:
    """Points of one metric, like fleet.storage.query: [(unix_s, value)], None at gaps."""
    now = now or timezone.now()
    step = _step(since)
    window = f"{max(settings.PROMETHEUS_RATE_WINDOW, 2 * step):.0f}s"
    sel = selector(server, model, version, **({_LABEL[metric]: label} if metric in _LABEL else {}))
    try:
        result: list[dict[str, Any]] = _client().custom_query_range(
            promql(metric, sel, window),
            start_time=now - since,
            end_time=now,
            step=f"{step:g}",  # seconds as a number: Prometheus 2.42 refuses "1.000s"
        )
    except (PrometheusApiClientException, RequestException) as exc:
        raise PrometheusError(str(exc)) from exc
    if not result:
        return []
    points: list[tuple[float, float | None]] = []
    for t, raw in result[0]["values"]:
        value = float(raw)
        if math.isfinite(value):
            points.append((float(t), value))
    return with_gaps(points, step)


@dataclass
class TargetState:
    """What Prometheus says of one server right now."""

    up: bool
    error: str = ""
    values: list[dict[str, Any]] = field(default_factory=list)


def fleet_state(
    servers: list[Server], metrics: list[str], window: str | None = None
) -> dict[int, TargetState]:
    """Every server's health and current values, in one query per metric for the whole fleet.

    Queries `by (instance, ...)` instead of per server, so the load on Prometheus does not
    grow with the fleet: a tick costs len(metrics) + 1 queries for ten servers or a thousand.
    """
    window = window or f"{settings.PROMETHEUS_RATE_WINDOW:.0f}s"
    by_instance: dict[str, list[int]] = defaultdict(list)  # two rows may name one target
    for server in servers:
        by_instance[instance(server)].append(server.id)
    client = _client()
    try:
        up = {row["metric"].get("instance"): float(row["value"][1]) for row in client.custom_query("up")}
        states: dict[int, TargetState] = {}
        for name, ids in by_instance.items():
            if up.get(name) == 1:
                error = ""
            elif name not in up:
                error = f"Prometheus has no target with instance={name}"
            else:
                error = f"Prometheus cannot scrape {name} (up == 0)"
            states.update({server_id: TargetState(up=not error, error=error) for server_id in ids})
        for metric in metrics:
            model_level = METRICS[metric].level == "model"
            expr = promql(metric, "", window, "instance, model, version" if model_level else "instance")
            for row in client.custom_query(expr):
                labels = row.get("metric", {})
                value = float(row["value"][1])
                if not math.isfinite(value):
                    continue
                for server_id in by_instance.get(labels.get("instance", ""), []):
                    if states[server_id].up:
                        states[server_id].values.append(
                            {
                                "model": labels.get("model", ""),
                                "version": labels.get("version", ""),
                                "metric": metric,
                                "label": "",
                                "value": value,
                            }
                        )
    except (PrometheusApiClientException, RequestException) as exc:
        raise PrometheusError(str(exc)) from exc
    return states
