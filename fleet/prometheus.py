"""Prometheus as the metrics source (PROMETHEUS_URL set): series from PromQL.

The same metric names and units as the built-in scraper (fleet.catalog), so pages and the
API do not change. The rules are the same too, written in PromQL by each catalog row:
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from requests import RequestException

from .catalog import METRICS
from .derive import Derived
from .models import Server
from .storage import with_gaps


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
    """The PromQL expression for one FleetDeck metric over a selector (see Metric.promql)."""
    expr = METRICS[metric].promql(sel, window, by)
    if expr is None:
        raise ValueError(f"{metric} is not in Prometheus")
    return expr


def _client() -> PrometheusConnect:
    return PrometheusConnect(
        url=settings.PROMETHEUS_URL, disable_ssl=False, timeout=settings.FLEET_HTTP_READ_TIMEOUT
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
    kept = METRICS[metric].label
    sel = selector(server, model, version, **({kept: label} if kept else {}))
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
    values: list[Derived] = field(default_factory=list)


def fleet_state(
    servers: list[Server], metrics: Sequence[str], window: str | None = None
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
            info = METRICS[metric]
            # The labels the built-in scraper keeps, so a live frame has the same rows in
            # either mode: per version for model metrics, per GPU or reason where kept.
            by = ["instance", *(["model", "version"] if info.level == "model" else []), info.label]
            for row in client.custom_query(promql(metric, "", window, ", ".join(filter(None, by)))):
                labels = row.get("metric", {})
                value = float(row["value"][1])
                if not math.isfinite(value):
                    continue
                derived = Derived(
                    metric,
                    value,
                    labels.get("model", ""),
                    labels.get("version", ""),
                    labels.get(info.label, "") if info.label else "",
                )
                for server_id in by_instance.get(labels.get("instance", ""), []):
                    if states[server_id].up:
                        states[server_id].values.append(derived)
    except (PrometheusApiClientException, RequestException) as exc:
        raise PrometheusError(str(exc)) from exc
    return states
