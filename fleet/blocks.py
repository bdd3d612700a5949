"""The raw level of storage: one row per (server, scrape) under a per-server series layout.

A block holds a scrape's values as one float64 array, in the order of its layout (Series
ids sorted by metric, model, version, label). One metric of one model is thus a contiguous
slice, and a reader asks the database for just that slice (SUBSTRING of the bytes), never
for the whole scrape. A server gets a new layout only when its set of series changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import BinaryField
from django.db.models.functions import Substr

from .models import Block, Series, SeriesLayout, Server

VALUE = np.dtype("<f8")
WIDTH = VALUE.itemsize

Key = tuple[str, str, str, str]  # (model, version, metric, label)
Readings = dict[float, dict[int, float]]  # {unix seconds: {series id: value}}


def order(key: Key) -> tuple[str, str, str, str]:
    """Layout order: by metric, then model, version, label."""
    model, version, metric, label = key
    return metric, model, version, label


def series_ids(server: Server, keys: Iterable[Key]) -> dict[Key, int]:
    """Ids of the (model, version, metric, label) series of a server, creating missing ones.
    Returns every series of the server, not only `keys`."""

    def known() -> dict[Key, int]:
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


@dataclass(frozen=True)
class Layout:
    id: int
    width: int  # values per block
    index: dict[Key, int]  # position of each (still existing) series


# The newest layout per server, per process: checked against the database on every write
# (one indexed read), so a layout made elsewhere (another worker, maintenance) is seen.
_newest: dict[int, Layout] = {}


def _load(layout_id: int, ids: list[int]) -> Layout:
    keys = {
        sid: (m, v, n, lb)
        for sid, m, v, n, lb in Series.objects.filter(id__in=ids).values_list(
            "id", "model", "version", "metric", "label"
        )
    }
    return Layout(layout_id, len(ids), {keys[sid]: i for i, sid in enumerate(ids) if sid in keys})


def new_layout(server: Server, keys: Collection[Key], ids: dict[Key, int]) -> Layout:
    ordered = sorted(keys, key=order)
    row = SeriesLayout.objects.create(server=server, series_ids=[ids[k] for k in ordered])
    layout = Layout(row.id, len(ordered), {k: i for i, k in enumerate(ordered)})
    _newest[server.id] = layout
    return layout


def layout_for(server: Server, keys: Collection[Key]) -> Layout:
    """The server's newest layout if it has every key; else a new one with the keys added.

    Keys the newest layout has and this write lacks stay (a per-request average absent while
    a model is idle should not make a new layout at every scrape), unless they would be the
    majority: maintenance drops series that had no value for a whole hour (see rollups).
    """
    row = SeriesLayout.objects.filter(server=server).order_by("-id").values_list("id", "series_ids").first()
    current = None
    if row is not None:
        current = _newest.get(server.id)
        if current is None or current.id != row[0]:
            current = _newest[server.id] = _load(row[0], row[1])
        if current.index.keys() >= set(keys):
            return current
    ids = series_ids(server, keys)
    kept = {k for k in current.index if k in ids} if current else set()
    union = kept | set(keys)
    return new_layout(server, union if len(union) <= 2 * len(keys) + 16 else keys, ids)


def encode(layout: Layout, values: dict[Key, float]) -> bytes:
    array = np.full(layout.width, np.nan, dtype=VALUE)
    for key, value in values.items():
        array[layout.index[key]] = value
    return array.tobytes()


def positions(server_id: int, layout_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """{layout id: {series id: position}}."""
    rows = SeriesLayout.objects.filter(server_id=server_id, id__in=list(layout_ids)).values_list(
        "id", "series_ids"
    )
    return {lid: {sid: i for i, sid in enumerate(ids)} for lid, ids in rows}


def read(
    server_id: int, ids: Collection[int], start: datetime, end: datetime | None = None
) -> tuple[Readings, dict[float, set[int]]]:
    """Values of the series `ids` (all of one server) in blocks from `start` (to `end`,
    exclusive): readings, and the gap markers {unix seconds: series ids the gap breaks}."""
    readings: Readings = defaultdict(dict)
    gaps: dict[float, set[int]] = defaultdict(set)
    if not ids:
        return readings, gaps
    blocks = Block.objects.filter(server_id=server_id, at__gte=start)
    if end is not None:
        blocks = blocks.filter(at__lt=end)
    layouts = positions(server_id, set(blocks.values_list("layout_id", flat=True)))
    for layout_id, where in layouts.items():
        wanted = {sid: where[sid] for sid in ids if sid in where}
        if not wanted:
            continue
        low, high = min(wanted.values()), max(wanted.values())
        # The slice of the bytes holding these series only (SQL counts from 1).
        part = Substr("data", low * WIDTH + 1, (high - low + 1) * WIDTH, output_field=BinaryField())
        for at, data in blocks.filter(layout_id=layout_id).annotate(part=part).values_list("at", "part"):
            t = at.timestamp()
            if data is None:
                gaps[t].update(wanted)
                continue
            values = np.frombuffer(bytes(data), dtype=VALUE)
            for sid, i in wanted.items():
                value = float(values[i - low])
                if value == value:  # not NaN: the series had a value in this scrape
                    readings[t][sid] = value
    return readings, gaps
