"""Time-series storage: raw points, 1-minute and 1-hour rollups, retention, queries.

Raw points are kept for FLEET_RAW_RETENTION; rollups (count/sum/min/max per bucket) for
longer windows, so a 7-day chart reads about 10k rows per series instead of millions.
Rollups are recomputed from a watermark (the newest bucket already rolled up), so running
the maintenance task twice, or late, gives the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from .catalog import METRICS, combine
from .derive import Derived
from .models import Point, Rollup, Series, Server

MINUTE = 60
HOUR = 3600


def series_ids(server: Server, keys: Iterable[tuple[str, str, str, str]]) -> dict[tuple, int]:
    """Ids of the (model, version, metric, label) series of a server, creating missing ones."""

    def known() -> dict[tuple, int]:
        rows = Series.objects.filter(server=server).values_list("model", "version", "metric", "label", "id")
        return {(m, v, n, lb): sid for m, v, n, lb, sid in rows}

    ids = known()
    missing = set(keys) - ids.keys()
    if missing:
        Series.objects.bulk_create(
            [Series(server=server, model=m, version=v, metric=n, label=lb) for m, v, n, lb in missing],
            ignore_conflicts=True,  # a concurrent scrape may create the same series
        )
        ids = known()  # ignore_conflicts leaves the new rows without ids: read them back
    return ids


def store(server: Server, at: datetime, values: Sequence[Derived]) -> int:
    """Write one scrape's derived values as raw points; returns how many."""
    if not values:
        return 0
    ids = series_ids(server, ((d.model, d.version, d.metric, d.label) for d in values))
    Point.objects.bulk_create(
        [Point(series_id=ids[(d.model, d.version, d.metric, d.label)], at=at, value=d.value) for d in values]
    )
    return len(values)


def mark_gap(server: Server, since: datetime, at: datetime) -> int:
    """A null point at `at` in every series that has a point since `since` (the server's last
    good scrape): an explicit gap, so even an outage shorter than a few intervals shows."""
    live = Point.objects.filter(series__server=server, at__gte=since).values_list("series_id", flat=True)
    markers = [Point(series_id=series_id, at=at, value=None) for series_id in set(live)]
    Point.objects.bulk_create(markers)
    return len(markers)


# --- Maintenance ------------------------------------------------------------------------


def _floor(moment: datetime, step: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


def rollup(now: datetime | None = None) -> dict[int, int]:
    """Roll raw points into 1-minute buckets and those into 1-hour buckets.

    Only complete buckets are written; each run restarts at the newest bucket it wrote
    last time, so late points of that bucket are folded in. Returns rows written per step.
    """
    now = now or timezone.now()
    written = {}
    for step, source, trunc in ((MINUTE, "points", TruncMinute), (HOUR, "rollups", TruncHour)):
        end = _floor(now, step)
        newest = Rollup.objects.filter(step=step).aggregate(at=Max("at"))["at"]
        rows: Any  # a values() queryset of bucket aggregates
        if source == "points":
            start = newest or (now - settings.FLEET_RAW_RETENTION)
            rows = (
                Point.objects.filter(at__gte=start, at__lt=end)
                .annotate(bucket=trunc("at"))
                .values("series_id", "bucket")
                # Count("value") skips gap markers (null), as Sum, Min and Max do.
                .annotate(
                    count=Count("value"), total=Sum("value"), minimum=Min("value"), maximum=Max("value")
                )
            )
        else:
            start = newest or (now - settings.FLEET_MINUTE_RETENTION)
            rows = (
                Rollup.objects.filter(step=MINUTE, at__gte=start, at__lt=end)
                .annotate(bucket=trunc("at"))
                .values("series_id", "bucket")
                .annotate(
                    count=Sum("count"), total=Sum("total"), minimum=Min("minimum"), maximum=Max("maximum")
                )
            )
        objs = [
            Rollup(
                series_id=row["series_id"],
                step=step,
                at=row["bucket"],
                count=row["count"],
                total=row["total"],
                minimum=row["minimum"],
                maximum=row["maximum"],
            )
            for row in rows
            if row["count"]  # a bucket of gap markers only has no value
        ]
        Rollup.objects.bulk_create(
            objs,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["series", "step", "at"],
            update_fields=["count", "total", "minimum", "maximum"],
        )
        written[step] = len(objs)
    return written


def prune(now: datetime | None = None) -> dict[str, int]:
    """Delete raw points and rollups older than their retention."""
    now = now or timezone.now()
    deleted_points, _ = Point.objects.filter(at__lt=now - settings.FLEET_RAW_RETENTION).delete()
    deleted_minutes, _ = Rollup.objects.filter(
        step=MINUTE, at__lt=now - settings.FLEET_MINUTE_RETENTION
    ).delete()
    deleted_hours, _ = Rollup.objects.filter(step=HOUR, at__lt=now - settings.FLEET_HOUR_RETENTION).delete()
    return {"points": deleted_points, "minute": deleted_minutes, "hour": deleted_hours}


# --- Queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesQuery:
    server: Server
    metric: str
    since: timedelta
    model: str = ""
    version: str | None = None
    label: str | None = None


# Raw points up to this window; beyond it, rollups (a 6 h window at 1 s would be 21,600 points).
RAW_WINDOW = timedelta(hours=1)


def _resolution(since: timedelta) -> int:
    """0 for raw points, else the rollup step that keeps a window to a few thousand points."""
    if since <= RAW_WINDOW:
        return 0
    if since <= settings.FLEET_MINUTE_RETENTION:
        return MINUTE
    return HOUR


def _series(q: SeriesQuery, metric: str) -> dict[int, tuple[str, str]]:
    """{series id: (version, label)} of one metric matching the query's filters."""
    series = Series.objects.filter(server=q.server, model=q.model, metric=metric)
    if q.version is not None:
        series = series.filter(version=q.version)
    if q.label is not None and metric == q.metric:
        series = series.filter(label=q.label)
    return {sid: (version, label) for sid, version, label in series.values_list("id", "version", "label")}


Readings = dict[float, dict[int, float]]  # {unix seconds: {series id: value}}


def _read(ids: Iterable[int], start: datetime, step: int) -> tuple[Readings, set[float]]:
    """Values of the series from `start` (rollup means at `step`, then raw), and gap times."""
    ids = list(ids)
    readings: Readings = defaultdict(dict)
    raw_from = start
    if step:
        rollups = Rollup.objects.filter(series_id__in=ids, step=step, at__gte=_floor(start, step))
        last = None
        for sid, at, total, count in rollups.values_list("series_id", "at", "total", "count"):
            readings[at.timestamp()][sid] = total / count
            last = at if last is None or at > last else last
        # The newest buckets are not rolled up yet: read them raw.
        raw_from = (last + timedelta(seconds=step)) if last else start
    gaps: set[float] = set()
    for sid, at, value in Point.objects.filter(series_id__in=ids, at__gte=raw_from).values_list(
        "series_id", "at", "value"
    ):
        if value is None:
            gaps.add(at.timestamp())
        else:
            readings[at.timestamp()][sid] = value
    return readings, gaps


def query(q: SeriesQuery, now: datetime | None = None) -> list[tuple[float, float | None]]:
    """Points of one metric as [(unix_seconds, value)], series combined, gaps as None.

    Several versions, labels (GPUs, failure reasons) combine at each timestamp by
    fleet.catalog.combine: rates add up, averages are weighted by their denominator's rate
    (requests for per-request times). Where the timeline has a hole (a server down, a model
    unloaded) a (t, None) marks it, so a chart draws a gap instead of a line across it.
    """
    now = now or timezone.now()
    start = now - q.since
    series = _series(q, q.metric)
    if not series:
        return []
    step = _resolution(q.since)
    readings, gaps = _read(series, start, step)
    weight_metric = METRICS[q.metric].weight if q.metric in METRICS else None
    weights: dict[tuple[float, str], float] = {}
    if weight_metric and len({version for version, _ in series.values()}) > 1:
        weight_series = _series(q, weight_metric)
        weight_readings, _ = _read(weight_series, start, step)
        weights = {
            (t, weight_series[sid][0]): value
            for t, row in weight_readings.items()
            for sid, value in row.items()
        }

    points: list[tuple[float, float | None]] = [(t, None) for t in gaps - readings.keys()]
    for t, row in readings.items():
        values = list(row.values())
        row_weights = [weights.get((t, series[sid][0])) for sid in row] if weights else None
        points.append((t, combine(q.metric, values, row_weights)))
    points.sort()
    return with_gaps(points, step or settings.FLEET_SCRAPE_INTERVAL)


def with_gaps(points: list[tuple[float, float | None]], step: float) -> list[tuple[float, float | None]]:
    """Insert (t, None) where two neighbours are more than 2.5 steps apart."""
    out: list[tuple[float, float | None]] = []
    for t, value in points:
        if out and out[-1][1] is not None and value is not None and t - out[-1][0] > 2.5 * step:
            out.append((out[-1][0] + step, None))
        if value is None and out and out[-1][1] is None:
            continue  # one marker per gap
        out.append((t, value))
    return out
