"""Where a series is read from: FleetDeck's own storage, or Prometheus when PROMETHEUS_URL is set.

Pages and the API ask here, so the choice of source never reaches them.
"""

from __future__ import annotations

from django.conf import settings

from . import prometheus, storage
from .catalog import PROMETHEUS_METRICS


def points(q: storage.SeriesQuery) -> list[tuple[float, float | None]]:
    """[(unix_seconds, value)], None marking gaps, from the configured source."""
    if settings.PROMETHEUS_URL and q.metric in PROMETHEUS_METRICS:
        return prometheus.range_query(q.server, q.metric, q.since, q.model, q.version, q.label)
    return storage.query(q)
