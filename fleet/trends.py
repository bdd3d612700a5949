"""Short histories that pages show beside the numbers now: each server's inferences/s over the
last minutes (the overview's sparklines), and which of a server's models to chart.

A sparkline is one read for the whole fleet: per server, the sum over its models of
inferences/s at each scrape, averaged into a few dozen buckets. It is a glance, not a
chart: a bucket without any successful scrape is a gap (None).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import overview, prometheus, storage
from .models import Series, Server

SPARKLINE_METRIC = "inferences_per_s"
SPARKLINE_WINDOW = timedelta(minutes=15)
SPARKLINE_BUCKETS = 60

Points = list[tuple[float, float | None]]


def sparklines(
    servers: list[Server],
    window: timedelta = SPARKLINE_WINDOW,
    buckets: int = SPARKLINE_BUCKETS,
    now: datetime | None = None,
) -> tuple[float, dict[int, Points]]:
    """(bucket seconds, {server id: [(bucket start, mean inferences/s or None)]}) over `window`."""
    now = now or timezone.now()
    step = max(window.total_seconds() / buckets, float(settings.FLEET_SCRAPE_INTERVAL))
    start = now - window
    if settings.PROMETHEUS_URL:
        totals = _prometheus_totals(servers, window, now)
    else:
        totals = _stored_totals(servers, start)
    lines: dict[int, Points] = {}
    for server in servers:
        sums: dict[int, list[float]] = defaultdict(list)
        for t, value in totals.get(server.id, []):
            if value is not None:
                sums[int((t - start.timestamp()) // step)].append(value)
        lines[server.id] = [
            (start.timestamp() + i * step, (sum(v) / len(v)) if (v := sums.get(i)) else None)
            for i in range(int(window.total_seconds() // step))
        ]
    return step, lines


def _stored_totals(servers: list[Server], start: datetime) -> dict[int, Points]:
    """Per server, its models' inferences/s summed at each scrape (None at gap markers)."""
    return storage.totals(servers, SPARKLINE_METRIC, start)


def _prometheus_totals(servers: list[Server], window: timedelta, now: datetime) -> dict[int, Points]:
    """The same from Prometheus: sum over the server's models (one range query per server)."""
    totals: dict[int, Points] = {}
    for server in servers:
        try:
            totals[server.id] = prometheus.range_query(server, SPARKLINE_METRIC, window, now=now)
        except prometheus.PrometheusError:
            totals[server.id] = []  # a sparkline is a glance: a gap, not a failed page
    return totals


def charted_models(server: Server, limit: int = 8) -> list[str]:
    """The models of a server worth a line on its charts: those with throughput series, the
    busiest now first (then by name), at most `limit` so that a big server stays readable."""
    names = set(
        Series.objects.filter(server=server, metric=SPARKLINE_METRIC)
        .exclude(model="")
        .values_list("model", flat=True)
    )
    load: dict[str, float] = defaultdict(float)
    for p in overview.current([server], [SPARKLINE_METRIC]):
        load[p.model] += p.value
    return sorted(names, key=lambda name: (-load[name], name))[:limit]
