"""Triton's exposition → a snapshot of counters and gauges → the catalog's series, per window.

Pure functions, no I/O, no Django: the scrape task feeds them text and the previous
snapshot. Which families are read, which label each keeps and how each series is derived
all come from the catalog (fleet.catalog). The rate math follows Prometheus' `rate()`:
- a counter that goes down was reset (server restart, model reload): count from zero;
- the first sample of a series has nothing to compare with and yields no rate;
- a per-request average exists only where the window saw requests (no "1 +" denominator);
- per-model series are summed over `gpu_uuid` (one series per GPU the model runs on);
- a value that is not finite, or a negative counter, leaves its series out of the snapshot
  (counted in `Snapshot.dropped`), so no NaN reaches storage and no rate goes negative.
The text itself is read by fleet.exposition (a fast path, prometheus_client as fallback).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from . import exposition
from .catalog import CATALOG, Metric

_RATES: tuple[Metric, ...] = tuple(m for m in CATALOG if m.derivation in ("rate", "ratio"))
_GAUGES: dict[str, Metric] = {m.families[0]: m for m in CATALOG if m.derivation == "gauge"}
# Every family read, and the one label it keeps (the others are summed over).
_COUNTER_LABEL: dict[str, str] = {f: m.label for m in _RATES for f in m.families}
_GAUGE_LABEL: dict[str, str] = {f: m.label for f, m in _GAUGES.items()}
# A model version counts as present only while its success counter is exported (see derive).
_PRESENCE = "nv_inference_request_success"

# What the exposition reader keeps: each family with model, version and its one label.
FAMILIES: dict[str, tuple[str, str, str]] = {
    family: ("model", "version", label) for family, label in (_COUNTER_LABEL | _GAUGE_LABEL).items()
}

# A snapshot key: (family, model, version, label). A tuple, not a joined string, so that no
# label value ("a|b") can make two series collide; JSON holds it as a row (see to_json).
Key = tuple[str, ...]


class MetricsParseError(ValueError):
    """The body is not Prometheus text, or not from a Triton server."""


@dataclass
class Snapshot:
    """What one scrape read: cumulative counters and current gauges."""

    at: float
    counters: dict[Key, float] = field(default_factory=dict)
    gauges: dict[Key, float] = field(default_factory=dict)
    # Series left out: a sample not finite (NaN, ±Inf), a negative counter, a NUL in a label.
    dropped: int = 0

    def to_json(self) -> dict[str, object]:
        """Rows [family, model, version, label, value]: JSON objects only have string keys."""
        return {
            "at": self.at,
            "counters": [[*key, value] for key, value in self.counters.items()],
            "gauges": [[*key, value] for key, value in self.gauges.items()],
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> Snapshot | None:
        """None for anything else, a baseline stored in the old "a|b|c|d" form included:
        the next window then starts afresh, as after a restart."""
        if not data:
            return None
        counters = _rows(data.get("counters"))
        gauges = _rows(data.get("gauges"))
        at = data.get("at")
        if counters is None or gauges is None or not isinstance(at, (int, float)):
            return None
        return cls(at=float(at), counters=counters, gauges=gauges)


def _rows(rows: object) -> dict[Key, float] | None:
    if not isinstance(rows, list):
        return None
    out: dict[Key, float] = {}
    for row in rows:
        if not isinstance(row, list) or len(row) != 5 or not isinstance(row[4], (int, float)):
            return None
        family, model, version, label = row[:4]
        if not all(isinstance(part, str) for part in (family, model, version, label)):
            return None
        out[(family, model, version, label)] = float(row[4])
    return out


class Derived(NamedTuple):
    """One derived value: model/version empty for server-level metrics.

    A NamedTuple, not a frozen dataclass: a scrape of 600 versions makes ~5,000 of these,
    and a frozen dataclass's __init__ costs twice as much (bench/parse.py)."""

    metric: str
    value: float
    model: str = ""
    version: str = ""
    label: str = ""


# The widest model, version and label a series can store (fleet.models.Series): a longer one
# is left out and counted, like a NaN, instead of failing every scrape of its server.
MAX_MODEL, MAX_VERSION, MAX_LABEL = 200, 50, 200


def _too_long(key: Key) -> bool:
    return len(key[1]) > MAX_MODEL or len(key[2]) > MAX_VERSION or len(key[3]) > MAX_LABEL


def parse(text: str, at: float, *, fast: bool = True) -> Snapshot:
    """Read Triton's exposition into a snapshot, summing per-model series over `gpu_uuid`.

    A series with a sample that is not finite, or a negative counter, is left out whole: a
    partial sum over GPUs would look like a reset. So is one with a NUL in a label, which
    PostgreSQL can store neither as text nor in JSON, and one whose model, version or label is
    wider than storage keeps. `fast=False` reads with
    prometheus_client only (the benchmark's and the differential test's reference).
    """
    try:
        body = exposition.read(text, FAMILIES, fast=fast)
    except exposition.ExpositionError as exc:
        # Never the parser's message: it quotes the body, which is not ours to show viewers.
        raise MetricsParseError(f"not Prometheus text ({exc.kind})") from exc
    if body.families and not any(name.startswith("nv_") for name in body.families):
        raise MetricsParseError("no nv_* metrics: is this a Triton metrics endpoint?")
    counters: dict[Key, float] = {}
    gauges: dict[Key, float] = {}
    negative: set[Key] = set()
    for key, value in body.samples:
        if key[0] in _COUNTER_LABEL:
            counters[key] = counters.get(key, 0.0) + value
            if value < 0:
                negative.add(key)
        else:
            gauges[key] = gauges.get(key, 0.0) + value
    # A NaN or ±Inf sample makes its series' sum one too (as does an overflow).
    isfinite = math.isfinite
    bad = negative
    if negative or not all(map(isfinite, counters.values())) or not all(map(isfinite, gauges.values())):
        bad = negative | {key for key, value in (counters | gauges).items() if not isfinite(value)}
    if "\x00" in text:
        bad = bad | {key for key in counters.keys() | gauges.keys() if any("\x00" in part for part in key)}
    bad = bad | {key for key in counters.keys() | gauges.keys() if _too_long(key)}
    for key in bad:
        counters.pop(key, None)
        gauges.pop(key, None)
    return Snapshot(at=at, counters=counters, gauges=gauges, dropped=len(bad))


def _delta(previous: float | None, current: float) -> float | None:
    """Increase of a counter; a decrease means it was reset and restarted from zero.
    parse drops negative counters; a negative here (a baseline from elsewhere) gives none."""
    if previous is None or previous < 0 or current < 0:
        return None
    return current - previous if current >= previous else current


def derive(previous: Snapshot | None, current: Snapshot) -> list[Derived]:
    """The series values for the window (previous.at, current.at]."""
    out: list[Derived] = []
    for key, value in current.gauges.items():
        family, model, version, label = key
        if family in _GAUGES:
            out.append(Derived(_GAUGES[family].name, value, model, version, label))

    if previous is None or current.at <= previous.at:
        return out
    dt = current.at - previous.at

    # Triton 2.51 keeps a model's per-reason failure counters after it is unloaded (seen
    # here), while its other series go. A version is live only while its success counter
    # is exported, so an unloaded model gets a gap, not a flat line of zero failures.
    live = {key[1:3] for key in current.counters if key[0] == _PRESENCE}
    deltas: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for key, value in current.counters.items():
        delta = _delta(previous.counters.get(key), value)
        if delta is None:
            continue
        family, model, version, label = key
        if not model or (model, version) in live:
            deltas[(model, version, label)][family] = delta

    for (model, version, label), d in deltas.items():
        for metric in _RATES:
            numerator = d.get(metric.families[0])
            if numerator is None:
                continue
            if metric.derivation == "rate":
                out.append(Derived(metric.name, numerator / dt, model, version, label))
                continue
            denominator = d.get(metric.families[1], 0.0)
            if denominator > 0:
                out.append(Derived(metric.name, numerator / denominator, model, version, label))
    return out
