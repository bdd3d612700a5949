"""Triton's exposition → a snapshot of counters and gauges → the catalog's series, per window.

Pure functions, no I/O, no Django: the scrape task feeds them text and the previous
snapshot. Which families are read, which label each keeps and how each series is derived
all come from the catalog (fleet.catalog). The rate math follows Prometheus' `rate()`:
- a counter that goes down was reset (server restart, model reload): count from zero;
- the first sample of a series has nothing to compare with and yields no rate;
- a per-request average exists only where the window saw requests (no "1 +" denominator);
- per-model series are summed over `gpu_uuid` (one series per GPU the model runs on).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from .catalog import CATALOG, Metric

_RATES: tuple[Metric, ...] = tuple(m for m in CATALOG if m.derivation in ("rate", "ratio"))
_GAUGES: dict[str, Metric] = {m.families[0]: m for m in CATALOG if m.derivation == "gauge"}
# Every family read, and the one label it keeps (the others are summed over).
_COUNTER_LABEL: dict[str, str] = {f: m.label for m in _RATES for f in m.families}
_GAUGE_LABEL: dict[str, str] = {f: m.label for f, m in _GAUGES.items()}
# A model version counts as present only while its success counter is exported (see derive).
_PRESENCE = "nv_inference_request_success"

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


def parse(text: str, at: float) -> Snapshot:
    """Read Triton's exposition into a snapshot, summing per-model series over `gpu_uuid`."""
    snapshot = Snapshot(at=at)
    seen_triton = False
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError, IndexError, KeyError...
        # Never the parser's message: it quotes the body, which is not ours to show viewers.
        raise MetricsParseError(f"not Prometheus text ({type(exc).__name__})") from exc
    for family in families:
        # The family name, not the sample's: the parser renames counter samples to *_total.
        name = family.name
        if name in _COUNTER_LABEL:
            target, kept = snapshot.counters, _COUNTER_LABEL[name]
        elif name in _GAUGE_LABEL:
            target, kept = snapshot.gauges, _GAUGE_LABEL[name]
        else:
            seen_triton = seen_triton or name.startswith("nv_")
            continue
        seen_triton = True
        for sample in family.samples:
            labels = sample.labels
            key = SEP.join(
                (
                    name,
                    labels.get("model", ""),
                    labels.get("version", ""),
                    labels.get(kept, "") if kept else "",
                )
            )
            target[key] = target.get(key, 0.0) + float(sample.value)
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
        family, model, version, label = key.split(SEP)
        if family in _GAUGES:
            out.append(Derived(_GAUGES[family].name, value, model, version, label))

    if previous is None or current.at <= previous.at:
        return out
    dt = current.at - previous.at

    # Triton 2.51 keeps a model's per-reason failure counters after it is unloaded (seen
    # here), while its other series go. A version is live only while its success counter
    # is exported, so an unloaded model gets a gap, not a flat line of zero failures.
    live = {tuple(key.split(SEP)[1:3]) for key in current.counters if key.startswith(_PRESENCE + SEP)}
    deltas: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for key, value in current.counters.items():
        delta = _delta(previous.counters.get(key), value)
        if delta is None:
            continue
        family, model, version, label = key.split(SEP)
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
