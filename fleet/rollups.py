"""Maintenance of storage: blocks of each closed hour become per-series hourly chunks, old
rows go, and so do the series, events and configs of models long gone.

The transpose from (server, scrape) blocks to (series, hour) chunks is what keeps a long
query cheap: 24 h of one series is 24 small rows, not 17,280 scrapes of the whole server.
Each hour is rolled once it closed (plus a grace for late writes) and its chunks are
upserted, so running maintenance twice, or late, gives the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q

from .blocks import VALUE, Key, new_layout, series_ids
from .models import (
    Block,
    Chunk,
    ModelConfig,
    ModelEvent,
    ModelVersion,
    RollupMark,
    Series,
    SeriesLayout,
    Server,
)

MINUTE = 60
HOUR = 3600
SLOTS = HOUR // MINUTE
# A scrape stamped just before an hour ends may commit a moment after: roll an hour only
# once this much time has passed since it closed.
GRACE = timedelta(minutes=2)
SLOT = np.dtype("<f4")


def floor(moment: datetime, step: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


def decode_minutes(data: bytes | memoryview) -> np.ndarray:
    """A chunk's minute buckets as a (4, 60) array: counts, sums, minima, maxima."""
    return np.frombuffer(bytes(data), dtype=SLOT).reshape(4, SLOTS)


def rollup(now: datetime) -> int:
    """Roll every server's closed hours into chunks; returns chunk rows written."""
    end = floor(now - GRACE, HOUR)
    written = 0
    for server in Server.objects.all():
        mark = RollupMark.objects.filter(server=server).values_list("until", flat=True).first()
        start = mark
        if start is None:
            oldest = Block.objects.filter(server=server).aggregate(at=Min("at"))["at"]
            if oldest is None:
                continue
            start = floor(oldest, HOUR)
        hour = max(start, floor(now - settings.FLEET_RAW_RETENTION, HOUR))
        while hour < end:
            with transaction.atomic():
                written += roll_hour(server, hour, last=hour + timedelta(hours=1) >= end)
                RollupMark.objects.update_or_create(
                    server=server, defaults={"until": hour + timedelta(hours=1)}
                )
            hour += timedelta(hours=1)
    return written


def roll_hour(server: Server, hour: datetime, last: bool = False) -> int:
    """Chunks of one server's hour. With `last`, the server's newest layout also loses the
    series that had no value in the whole hour (unloaded models: their slots would be NaN
    in every scrape from now on, and they could never be pruned)."""
    rows = Block.objects.filter(
        server=server, at__gte=hour, at__lt=hour + timedelta(hours=1), data__isnull=False
    ).values_list("layout_id", "at", "data")
    grouped: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for layout_id, at, data in rows:
        grouped[layout_id].append((int((at - hour).total_seconds()) // MINUTE, bytes(data or b"")))
    layouts = dict(SeriesLayout.objects.filter(id__in=list(grouped)).values_list("id", "series_ids"))
    stats: dict[int, np.ndarray] = {}  # series id -> (4, 60): count, sum, min, max
    for layout_id, scrapes in grouped.items():
        minute = np.array([m for m, _ in scrapes])
        values = np.stack([np.frombuffer(d, dtype=VALUE) for _, d in scrapes])
        present = ~np.isnan(values)
        width = values.shape[1]
        count = np.zeros((SLOTS, width))
        total = np.zeros((SLOTS, width))
        low = np.full((SLOTS, width), np.inf)
        high = np.full((SLOTS, width), -np.inf)
        np.add.at(count, minute, present)
        np.add.at(total, minute, np.where(present, values, 0.0))
        np.minimum.at(low, minute, np.where(present, values, np.inf))
        np.maximum.at(high, minute, np.where(present, values, -np.inf))
        for i, sid in enumerate(layouts[layout_id]):
            if not count[:, i].any():
                continue
            new = np.stack([count[:, i], total[:, i], low[:, i], high[:, i]])
            old = stats.get(sid)
            if old is not None:  # the series was in two layouts this hour
                new = np.stack(
                    [old[0] + new[0], old[1] + new[1], np.minimum(old[2], new[2]), np.maximum(old[3], new[3])]
                )
            stats[sid] = new
    existing = set(Series.objects.filter(id__in=list(stats)).values_list("id", flat=True))
    chunks = []
    for sid, (count, total, low, high) in stats.items():
        if sid not in existing:  # pruned meanwhile
            continue
        filled = count > 0
        slots = np.stack([count, total, np.where(filled, low, np.nan), np.where(filled, high, np.nan)])
        chunks.append(
            Chunk(
                series_id=sid,
                at=hour,
                count=int(count.sum()),
                total=float(total.sum()),
                minimum=float(low[filled].min()),
                maximum=float(high[filled].max()),
                minutes=slots.astype(SLOT).tobytes(),
            )
        )
    Chunk.objects.bulk_create(
        chunks,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["series", "at"],
        update_fields=["count", "total", "minimum", "maximum", "minutes"],
    )
    if last:
        _drop_idle(server, hour, set(stats))
    return len(chunks)


def _drop_idle(server: Server, hour: datetime, seen: set[int]) -> None:
    row = SeriesLayout.objects.filter(server=server).order_by("-id").first()
    if row is None or row.created_at > hour or set(row.series_ids) <= seen:
        return
    ids = series_ids(server, ())
    current = set(row.series_ids)
    keys: list[Key] = [k for k, sid in ids.items() if sid in seen and sid in current]
    new_layout(server, keys, ids)


def prune(now: datetime) -> dict[str, int]:
    """Delete rows past their retention; drop minute buckets past theirs; forget long-gone models."""
    counts = {
        "blocks": Block.objects.filter(at__lt=now - settings.FLEET_RAW_RETENTION).delete()[0],
        "minute": Chunk.objects.filter(
            at__lt=now - settings.FLEET_MINUTE_RETENTION, minutes__isnull=False
        ).update(minutes=None),
        "hour": Chunk.objects.filter(at__lt=now - settings.FLEET_HOUR_RETENTION).delete()[0],
    }
    newest = SeriesLayout.objects.values("server").annotate(newest=Max("id")).values_list("newest", flat=True)
    SeriesLayout.objects.exclude(id__in=list(newest)).exclude(
        Exists(Block.objects.filter(layout=OuterRef("pk")))
    ).delete()
    counts["series"] = counts["events"] = counts["configs"] = 0
    for server in Server.objects.all():
        for key, value in _forget(server, now).items():
            counts[key] += value
    return counts


def _forget(server: Server, now: datetime) -> dict[str, int]:
    """A series with no chunk left, not in the server's newest layout nor in blocks not yet
    rolled up, has no history to show: delete it. A model with no series left and not in the
    repository index is long gone: delete its events and config too. Events past the hour
    retention go in any case."""
    mark = RollupMark.objects.filter(server=server).values_list("until", flat=True).first()
    unrolled = Block.objects.filter(server=server)
    if mark is not None:
        unrolled = unrolled.filter(at__gte=mark)
    newest = SeriesLayout.objects.filter(server=server).order_by("-id").values_list("id", flat=True)[:1]
    layouts = SeriesLayout.objects.filter(Q(id__in=unrolled.values("layout_id")) | Q(id__in=list(newest)))
    in_use: set[int] = set()
    for ids in layouts.values_list("series_ids", flat=True):
        in_use.update(ids)
    empty = Series.objects.filter(server=server).exclude(Exists(Chunk.objects.filter(series=OuterRef("pk"))))
    dead = [sid for sid in empty.values_list("id", flat=True) if sid not in in_use]
    series = 0
    for i in range(0, len(dead), 1000):
        series += Series.objects.filter(id__in=dead[i : i + 1000]).delete()[1].get("fleet.Series", 0)
    alive = set(ModelVersion.objects.filter(server=server).values_list("name", flat=True))
    alive |= set(Series.objects.filter(server=server).values_list("model", flat=True))
    events = ModelEvent.objects.filter(server=server)
    old_events = events.filter(at__lt=now - settings.FLEET_HOUR_RETENTION).delete()[0]
    gone_events = events.exclude(name__in=alive).delete()[0]
    configs = ModelConfig.objects.filter(server=server).exclude(name__in=alive).delete()[0]
    return {"series": series, "events": old_events + gone_events, "configs": configs}
