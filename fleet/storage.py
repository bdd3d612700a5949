"""Time-series storage: raw blocks, hourly per-series chunks of minute rollups, retention,
queries.

A scrape writes one row: a block holding all its values under the server's series layout
(fleet.blocks). Maintenance transposes each closed hour into one chunk per series holding
its 60 one-minute buckets (fleet.rollups), so a 24 h chart of one series reads 24 small
rows plus the open hour's slice of the blocks, and a 90-day one reads 2,160 rows.
Raw blocks are kept for FLEET_RAW_RETENTION, minute buckets for FLEET_MINUTE_RETENTION,
hourly aggregates for FLEET_HOUR_RETENTION.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from . import blocks, rollups
from .blocks import VALUE, Readings, series_ids
from .catalog import METRICS, combine
from .derive import Derived
from .models import Block, Chunk, RollupMark, Series, SeriesLayout, Server
from .rollups import HOUR, MINUTE, decode_minutes, floor

__all__ = ["HOUR", "MINUTE", "SeriesQuery", "TooManySeries", "query", "series_ids", "store", "with_gaps"]


class TooManySeries(ValueError):
    """A write with more series than FLEET_MAX_SERIES_PER_SERVER."""


def store(server: Server, at: datetime, values: Sequence[Derived]) -> int:
    """Write one scrape's derived values as one block; returns how many values."""
    if not values:
        return 0
    by_key = {(d.model, d.version, d.metric, d.label): d.value for d in values}
    if len(by_key) > settings.FLEET_MAX_SERIES_PER_SERVER:
        cap = settings.FLEET_MAX_SERIES_PER_SERVER
        raise TooManySeries(f"{len(by_key)} series, more than FLEET_MAX_SERIES_PER_SERVER={cap}")
    layout = blocks.layout_for(server, by_key.keys())
    Block.objects.create(server=server, at=at, layout_id=layout.id, data=blocks.encode(layout, by_key))
    return len(values)


def mark_gap(server: Server, since: datetime, at: datetime) -> int:
    """A gap marker at `at` for the series of the server's newest layout, if the server
    wrote a block since `since` (its last good scrape): an explicit gap, so even an outage
    shorter than a few intervals shows. Returns how many series it breaks."""
    if not Block.objects.filter(server=server, at__gte=since, data__isnull=False).exists():
        return 0
    layout = SeriesLayout.objects.filter(server=server).order_by("-id").first()
    if layout is None:
        return 0
    Block.objects.create(server=server, at=at, layout=layout, data=None)
    return len(layout.series_ids)


# --- Maintenance ------------------------------------------------------------------------


def rollup(now: datetime | None = None) -> dict[int, int]:
    """Roll closed hours of blocks into per-series chunks; returns {3600: chunks written}."""
    return {HOUR: rollups.rollup(now or timezone.now())}


def prune(now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention, and the series, events and configs of gone models."""
    return rollups.prune(now or timezone.now())


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


def _read(server_id: int, ids: Iterable[int], start: datetime, step: int) -> tuple[Readings, set[float]]:
    """Values of the series from `start` (rollup means at `step`, then raw), and gap times."""
    ids = list(ids)
    readings: Readings = defaultdict(dict)
    raw_from = start
    if step:
        mark = RollupMark.objects.filter(server_id=server_id).values_list("until", flat=True).first()
        chunks = Chunk.objects.filter(series_id__in=ids, at__gte=floor(start, HOUR))
        if mark is not None:
            chunks = chunks.filter(at__lt=mark)
            raw_from = max(start, mark)
        first = floor(start, step).timestamp()
        for sid, at, minutes, count, total in chunks.values_list(
            "series_id", "at", "minutes", "count", "total"
        ):
            if step == HOUR or minutes is None:  # an hour, or one whose minutes were dropped
                readings[at.timestamp()][sid] = total / count
                continue
            slots = decode_minutes(minutes)
            for i in np.flatnonzero(slots[0]):
                t = at.timestamp() + MINUTE * int(i)
                if t >= first:
                    readings[t][sid] = float(slots[1, i]) / float(slots[0, i])
    raw, gap_map = blocks.read(server_id, ids, raw_from)
    if not step:
        readings.update(raw)
    else:
        # The newest blocks are not rolled up yet: bucket them at `step` here.
        sums: dict[tuple[float, int], list[float]] = defaultdict(list)
        for t, row in raw.items():
            for sid, value in row.items():
                sums[(t - t % step, sid)].append(value)
        for (t, sid), values in sums.items():
            readings[t][sid] = sum(values) / len(values)
    return readings, set(gap_map)


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
    readings, gaps = _read(q.server.id, series, start, step)
    weight_metric = METRICS[q.metric].weight if q.metric in METRICS else None
    weights: dict[tuple[float, str], float] = {}
    if weight_metric and len({version for version, _ in series.values()}) > 1:
        weight_series = _series(q, weight_metric)
        weight_readings, _ = _read(q.server.id, weight_series, start, step)
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


# --- Newest values and whole-server reads ---------------------------------------------------


@dataclass(frozen=True)
class StoredPoint:
    """One stored value (None: a gap marker) of one series."""

    server_id: int
    model: str
    version: str
    metric: str
    label: str
    at: datetime
    value: float | None


def latest(
    server_ids: Iterable[int],
    metrics: Iterable[str],
    model: str | None = None,
    before: datetime | None = None,
    window: timedelta = timedelta(minutes=5),
) -> list[StoredPoint]:
    """The newest value of each matching series within `window` before `before` (else
    before the server's newest block); a series whose newest entry is a gap marker has
    None."""
    metrics = list(metrics)
    out: list[StoredPoint] = []
    for server_id in server_ids:
        series = Series.objects.filter(server_id=server_id, metric__in=metrics)
        if model is not None:
            series = series.filter(model=model)
        keys = {
            sid: (m, v, n, lb)
            for sid, m, v, n, lb in series.values_list("id", "model", "version", "metric", "label")
        }
        if not keys:
            continue
        rows = Block.objects.filter(server_id=server_id)
        newest = before or rows.order_by("-at").values_list("at", flat=True).first()
        if newest is None:
            continue
        rows = rows.filter(at__lte=newest, at__gte=newest - window).order_by("-at")
        found: dict[int, tuple[datetime, float | None]] = {}
        where: dict[int, dict[int, int]] = {}
        # Most series are in the newest block; values that come less often (from the
        # inventory) need a few more.
        for batch in (rows[:1], rows[1:32]):
            for at, layout_id, data in batch.values_list("at", "layout_id", "data"):
                if layout_id not in where:
                    where.update(blocks.positions(server_id, [layout_id]))
                values = None if data is None else np.frombuffer(bytes(data), dtype=VALUE)
                for sid, i in where[layout_id].items():
                    if sid not in keys or sid in found:
                        continue
                    if values is None:
                        found[sid] = (at, None)
                    elif (value := float(values[i])) == value:
                        found[sid] = (at, value)
            if len(found) == len(keys):
                break
        out.extend(StoredPoint(server_id, *keys[sid], at, value) for sid, (at, value) in found.items())
    return out


def totals(
    servers: Iterable[Server], metric: str, start: datetime
) -> dict[int, list[tuple[float, float | None]]]:
    """Per server, the sum of `metric` over its series at each scrape since `start` (None at
    gap markers)."""
    out: dict[int, list[tuple[float, float | None]]] = {}
    for server in servers:
        ids = list(Series.objects.filter(server=server, metric=metric).values_list("id", flat=True))
        readings, gaps = blocks.read(server.id, ids, start)
        line: list[tuple[float, float | None]] = [
            (t, sum(row.values())) for t, row in readings.items() if row
        ]
        line += [(t, None) for t in gaps if t not in readings]
        out[server.id] = sorted(line)
    return out


def points(server: Server, since: datetime | None = None) -> list[StoredPoint]:
    """Every stored raw value of a server (tests and benchmarks read through this)."""
    rows = Series.objects.filter(server=server).values_list("id", "model", "version", "metric", "label")
    keys = {sid: (m, v, n, lb) for sid, m, v, n, lb in rows}
    readings, gaps = blocks.read(server.id, keys, since or datetime.fromtimestamp(0, tz=UTC))
    out = [
        StoredPoint(server.id, *keys[sid], datetime.fromtimestamp(t, tz=UTC), value)
        for t, row in readings.items()
        for sid, value in row.items()
    ]
    out += [
        StoredPoint(server.id, *keys[sid], datetime.fromtimestamp(t, tz=UTC), None)
        for t, ids in gaps.items()
        for sid in ids
    ]
    return sorted(out, key=lambda p: (p.at, p.metric, p.model, p.version, p.label))
