"""Live frames, sized to what each page draws: built once per scrape here, in either metrics
mode, and published by fleet.services.publish through fleet.broadcast.

Per scrape of a server:
- its summary (`ServerSummary`, a `fleet.summary` event) to the fleet group, for the
  overview: status, when, inferences/s, models ready/total, memory, and the server's
  entries for the fleet's rankings (each server's own top RANK_LIMIT per ranking holds the
  fleet's top RANK_LIMIT). The same object is stored on the server row, and the overview's
  page seed is that stored object: one wire format, whatever the fleet size;
- the values its server page draws (`server_frame`, a `fleet.frame`) to `server-<id>`;
- each model's values (`model_frames`, `fleet.frame`s) to that model's group, which a model
  page joins to chart its model and compare it across the servers that have it.

dashboard.consumers relays them as they are; static/dashboard/*.js reads them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import TypedDict, TypeVar

from .derive import Derived
from .model_figures import ModelFigures


def iso(value: datetime | None) -> str | None:
    """A time as every wire format writes it (as DRF writes datetimes): UTC, with 'Z'."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


# What a server page draws: its models table (and its charts, which use two of these), and
# the server's own memory and GPU panels.
TABLE_METRICS = (
    "inferences_per_s",
    "requests_per_s",
    "queue_us_per_request",
    "pending_requests",
    "failures_per_s",
)
SERVER_METRICS = (
    "gpu_memory_used_bytes",
    "gpu_memory_total_bytes",
    "gpu_utilization",
    "cpu_memory_used_bytes",
    "cpu_memory_total_bytes",
)

# How the overview ranks models now; its script gets the same rule in the page seed. A model
# is listed when one of the metrics is above zero, ordered by them in turn, largest first.
RANKINGS: dict[str, tuple[str, ...]] = {
    "busiest": ("inferences_per_s",),
    "most_queued": ("pending_requests", "queue_us_per_request"),
}
RANK_LIMIT = 5

T = TypeVar("T")


class FrameValue(TypedDict):
    """One series' value now: model and version empty for server metrics, label = GPU or reason."""

    model: str
    version: str
    metric: str
    label: str
    value: float


class Frame(TypedDict):
    server_id: int
    status: str  # a Server.Status value
    at: float  # unix seconds
    error: str
    values: list[FrameValue]


class MemoryBar(TypedDict):
    """Memory of one device: a GPU (label = its uuid) or the host ("CPU")."""

    label: str
    used: float | None
    total: float | None


class RankedModel(TypedDict):
    """A model on the summary's server, with the metrics of one ranking, versions combined."""

    model: str
    values: dict[str, float | None]


class ServerSummary(TypedDict):
    """What the overview shows of one server: the `fleet.summary` frame and the page seed."""

    server_id: int
    name: str
    status: str  # a Server.Status value
    at: float | None  # when this summary was made (a scrape, or a failed one); unix seconds
    last_scrape_at: float | None  # the last successful scrape
    error: str
    inferences_per_s: float | None
    ready: int  # models with a READY version
    total: int  # models in the repository
    memory: list[MemoryBar]
    busiest: list[RankedModel]
    most_queued: list[RankedModel]


def frame(server_id: int, status: str, at: datetime, values: Iterable[Derived], error: str = "") -> Frame:
    """The whole scrape: what the page frames below are cut from."""
    return {
        "server_id": server_id,
        "status": status,
        "at": at.timestamp(),
        "error": error,
        "values": [
            {"model": v.model, "version": v.version, "metric": v.metric, "label": v.label, "value": v.value}
            for v in values
        ],
    }


def server_frame(whole: Frame) -> Frame:
    """The values a server page draws."""
    return {
        **whole,
        "values": [
            v for v in whole["values"] if v["metric"] in (TABLE_METRICS if v["model"] else SERVER_METRICS)
        ],
    }


def model_frames(whole: Frame, models: Iterable[str] = ()) -> dict[str, Frame]:
    """Per model, its values: every model with values, and `models` (the server's
    repository) with none, so that a model page sees its model go away at once."""
    by_model: dict[str, list[FrameValue]] = {name: [] for name in models}
    for v in whole["values"]:
        if v["model"]:
            by_model.setdefault(v["model"], []).append(v)
    return {name: {**whole, "values": values} for name, values in by_model.items()}


def memory_bars(values: Iterable[FrameValue]) -> list[MemoryBar]:
    """Per-GPU memory when the server reports GPUs, else the host's memory."""
    gpus: dict[str, dict[str, float]] = defaultdict(dict)
    cpu: dict[str, float] = {}
    for v in values:
        if v["model"]:
            continue
        if v["metric"].startswith("gpu_memory_"):
            gpus[v["label"]][v["metric"]] = v["value"]
        elif v["metric"].startswith("cpu_memory_"):
            cpu[v["metric"]] = v["value"]
    if gpus:
        return [
            {"label": label, "used": m.get("gpu_memory_used_bytes"), "total": m.get("gpu_memory_total_bytes")}
            for label, m in sorted(gpus.items())
        ]
    if cpu:
        used, total = cpu.get("cpu_memory_used_bytes"), cpu.get("cpu_memory_total_bytes")
        return [{"label": "CPU", "used": used, "total": total}]
    return []


def rank(
    items: Iterable[T],
    by: tuple[str, ...],
    limit: int = RANK_LIMIT,
    values: Callable[[T], Mapping[str, float | None]] = itemgetter("values"),  # type: ignore[assignment]
) -> list[T]:
    """The items with any of `by` above zero in their `values`, largest first (ties broken
    by the next); static/dashboard/format.js `rank` is the same rule."""

    def value(item: T, metric: str) -> float:
        return values(item).get(metric) or 0.0

    chosen = [m for m in items if any(value(m, k) > 0 for k in by)]
    return sorted(chosen, key=lambda m: tuple(-value(m, k) for k in by))[:limit]


def rankings(figures: Mapping[str, ModelFigures]) -> dict[str, list[RankedModel]]:
    """The server's own top models per ranking, each with that ranking's metrics (from the
    scrape's per-model figures, fleet.model_figures)."""
    out: dict[str, list[RankedModel]] = {}
    for name, by in RANKINGS.items():
        loads: list[RankedModel] = [
            {"model": model, "values": {metric: f.get(metric) for metric in by}}  # type: ignore[misc]
            for model, f in figures.items()
        ]
        out[name] = rank(loads, by)
    return out


def _total(figures: Iterable[ModelFigures], metric: str) -> float | None:
    """A rate over the server's models (None without one)."""
    found = [f[metric] for f in figures if metric in f]  # type: ignore[literal-required]
    return float(sum(found)) if found else None


def summary(
    server_id: int,
    name: str,
    whole: Frame,
    last_scrape_at: datetime | None,
    versions: Iterable[tuple[str, str]],
    figures: Mapping[str, ModelFigures],
) -> ServerSummary:
    """The server's summary from its scrape (`whole` and its per-model `figures`) and
    repository ((name, state) rows)."""
    ready: set[str] = set()
    total: set[str] = set()
    for model, state in versions:
        total.add(model)
        if state == "READY":
            ready.add(model)
    up = whole["status"] == "up"
    values = whole["values"] if up else []
    ranked = rankings(figures if up else {})
    return {
        "server_id": server_id,
        "name": name,
        "status": whole["status"],
        "at": whole["at"],
        "last_scrape_at": last_scrape_at.timestamp() if last_scrape_at else None,
        "error": whole["error"],
        "inferences_per_s": _total(figures.values() if up else (), "inferences_per_s"),
        "ready": len(ready),
        "total": len(total),
        "memory": memory_bars(values),
        "busiest": ranked["busiest"],
        "most_queued": ranked["most_queued"],
    }


def unscraped(server_id: int, name: str, status: str, error: str = "") -> ServerSummary:
    """The summary of a server no scrape has summarized yet."""
    return {
        "server_id": server_id,
        "name": name,
        "status": status,
        "at": None,
        "last_scrape_at": None,
        "error": error,
        "inferences_per_s": None,
        "ready": 0,
        "total": 0,
        "memory": [],
        "busiest": [],
        "most_queued": [],
    }
