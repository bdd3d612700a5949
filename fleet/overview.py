"""What the dashboard shows at a glance: the latest values per server and model.

Every read here is bounded: the newest point of each series is one backward step on the
(series, at) index, never a scan of the window. A value counts as current only when it
came from the server's latest successful scrape and the server is up, so a model that was
unloaded, or a server that went down, shows no number rather than an old one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from . import storage
from .catalog import METRICS, combine
from .models import ModelConfig, ModelEvent, ModelVersion, Series, Server

# The per-model metrics a models table shows.
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


@dataclass(frozen=True)
class Latest:
    """The newest point of one series."""

    server_id: int
    model: str
    version: str
    metric: str
    label: str
    at: datetime
    value: float


def latest_points(
    server_ids: Iterable[int],
    metrics: Iterable[str],
    model: str | None = None,
    before: datetime | None = None,
) -> list[Latest]:
    """The newest point (at or before `before`, if given) of each matching series."""
    return [
        Latest(p.server_id, p.model, p.version, p.metric, p.label, p.at, p.value)
        for p in storage.latest(server_ids, metrics, model, before)
        if p.value is not None
    ]


def current(servers: Iterable[Server], metrics: Iterable[str], model: str | None = None) -> list[Latest]:
    """Latest points that belong to each server's newest scrape, for servers that are up."""
    fresh = {s.id: s.last_scrape_at for s in servers if s.status == Server.Status.UP and s.last_scrape_at}
    return [
        p
        for p in latest_points(fresh.keys(), metrics, model)
        if p.at >= fresh[p.server_id] - timedelta(seconds=0.5)
    ]


def _weights(metrics: Iterable[str]) -> tuple[str, ...]:
    """The metrics to read along with `metrics`: the weights of their averages."""
    return tuple({w for m in metrics if (w := METRICS[m].weight)})


def weighted(points: Iterable[Latest], metric: str, pool: Iterable[Latest]) -> float | None:
    """combine() of the `metric` points, each average weighted by its own version's
    denominator rate found in `pool` (e.g. requests/s for queue µs per request)."""
    chosen = [p for p in points if p.metric == metric]
    weight = METRICS[metric].weight
    if weight is None:
        return combine(metric, [p.value for p in chosen])
    rates = {(p.server_id, p.model, p.version): p.value for p in pool if p.metric == weight}
    return combine(
        metric, [p.value for p in chosen], [rates.get((p.server_id, p.model, p.version)) for p in chosen]
    )


# --- Fleet overview ------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Memory of one device: a GPU (label = its uuid) or the host ("CPU")."""

    label: str
    used: float | None
    total: float | None

    @property
    def percent(self) -> float | None:
        if self.used is None or not self.total:
            return None
        return 100.0 * self.used / self.total


@dataclass(frozen=True)
class ServerSummary:
    server: Server
    inferences_per_s: float | None
    ready: int
    total: int
    memory: list[Memory]

    @property
    def has_gpu(self) -> bool:
        return any(m.label != "CPU" for m in self.memory)


# How the overview ranks models now; its script gets the same rule in the page seed. A model
# is listed when one of the metrics is above zero, ordered by them in turn, largest first.
RANKINGS: dict[str, tuple[str, ...]] = {
    "busiest": ("inferences_per_s",),
    "most_queued": ("pending_requests", "queue_us_per_request"),
}
RANK_LIMIT = 5
_RANKED = tuple(dict.fromkeys(m for by in RANKINGS.values() for m in by))


@dataclass(frozen=True)
class ModelLoad:
    """A model on a server, its load now: the ranked metrics, versions combined."""

    server_id: int
    server_name: str
    model: str
    values: dict[str, float | None]

    @property
    def inferences_per_s(self) -> float:
        return self.values.get("inferences_per_s") or 0.0

    @property
    def pending(self) -> float:
        return self.values.get("pending_requests") or 0.0

    @property
    def queue_us(self) -> float | None:
        return self.values.get("queue_us_per_request")


def rank(loads: Iterable[ModelLoad], by: tuple[str, ...], limit: int = RANK_LIMIT) -> list[ModelLoad]:
    """The models with any of `by` above zero, largest first (ties broken by the next)."""

    def value(load: ModelLoad, metric: str) -> float:
        return load.values.get(metric) or 0.0

    chosen = [m for m in loads if any(value(m, k) > 0 for k in by)]
    return sorted(chosen, key=lambda m: tuple(-value(m, k) for k in by))[:limit]


@dataclass(frozen=True)
class FleetOverview:
    servers: list[ServerSummary]
    busiest: list[ModelLoad]
    most_queued: list[ModelLoad]
    inferences_per_s: float


def memory_of(points: Iterable[Latest]) -> list[Memory]:
    """Per-GPU memory when the server reports GPUs, else the host's memory."""
    gpus: dict[str, dict[str, float]] = defaultdict(dict)
    cpu: dict[str, float] = {}
    for p in points:
        if p.metric.startswith("gpu_memory_"):
            gpus[p.label][p.metric] = p.value
        elif p.metric.startswith("cpu_memory_"):
            cpu[p.metric] = p.value
    if gpus:
        return [
            Memory(label, v.get("gpu_memory_used_bytes"), v.get("gpu_memory_total_bytes"))
            for label, v in sorted(gpus.items())
        ]
    if cpu:
        return [Memory("CPU", cpu.get("cpu_memory_used_bytes"), cpu.get("cpu_memory_total_bytes"))]
    return []


def model_loads(servers: list[Server], points: Iterable[Latest]) -> list[ModelLoad]:
    names = {s.id: s.name for s in servers}
    by_model: dict[tuple[int, str], list[Latest]] = defaultdict(list)
    for p in points:
        if p.model:
            by_model[(p.server_id, p.model)].append(p)
    loads = []
    for (server_id, model), latest in by_model.items():
        loads.append(
            ModelLoad(
                server_id=server_id,
                server_name=names[server_id],
                model=model,
                values={metric: weighted(latest, metric, latest) for metric in _RANKED},
            )
        )
    return loads


def fleet_overview(limit: int = RANK_LIMIT) -> FleetOverview:
    """Every server with its load and memory, and the busiest and most queued models."""
    servers = list(Server.objects.all())
    points = current(servers, (*SERVER_METRICS, *_RANKED, *_weights(_RANKED)))
    loads = model_loads(servers, points)
    return FleetOverview(
        servers=server_summaries(servers, points),
        busiest=rank(loads, RANKINGS["busiest"], limit),
        most_queued=rank(loads, RANKINGS["most_queued"], limit),
        inferences_per_s=sum(m.inferences_per_s for m in loads),
    )


# --- Server page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRow:
    """One row of a server's models table: a model version with its latest values."""

    name: str
    version: str
    state: str
    reason: str
    values: dict[str, float | None]


def server_models(server: Server) -> list[ModelRow]:
    """Every model version in the server's repository, with its latest values."""
    grouped: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for p in current([server], TABLE_METRICS):
        grouped[(p.model, p.version)][p.metric].append(p.value)
    return [
        ModelRow(
            name=mv.name,
            version=mv.version,
            state=mv.state,
            reason=mv.reason,
            values={m: combine(m, grouped[(mv.name, mv.version)][m]) for m in TABLE_METRICS},
        )
        for mv in ModelVersion.objects.filter(server=server)
    ]


def series_labels(server: Server, metric: str, model: str = "") -> list[str]:
    """The labels (GPUs, failure reasons) a metric has on a server or model."""
    return sorted(
        set(Series.objects.filter(server=server, model=model, metric=metric).values_list("label", flat=True))
    )


def server_summaries(servers: list[Server], points: Iterable[Latest]) -> list[ServerSummary]:
    """Each server's inferences/s, models READY/total and memory, from its latest points."""
    by_server: dict[int, list[Latest]] = defaultdict(list)
    for p in points:
        by_server[p.server_id].append(p)
    ready: dict[int, set[str]] = defaultdict(set)
    names: dict[int, set[str]] = defaultdict(set)
    rows = ModelVersion.objects.filter(server__in=servers).values_list("server_id", "name", "state")
    for server_id, name, state in rows:
        names[server_id].add(name)
        if state == ModelVersion.State.READY:
            ready[server_id].add(name)
    return [
        ServerSummary(
            server=s,
            inferences_per_s=weighted(by_server[s.id], "inferences_per_s", by_server[s.id]),
            ready=len(ready[s.id]),
            total=len(names[s.id]),
            memory=memory_of(by_server[s.id]),
        )
        for s in servers
    ]


def server_summary(server: Server) -> ServerSummary:
    (summary,) = server_summaries([server], current([server], (*SERVER_METRICS, "inferences_per_s")))
    return summary


# --- Model page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One metric of a model now, an hour ago, and across the fleet, for side-by-side reading."""

    metric: str
    unit: str
    now: float | None
    hour_ago: float | None
    fleet: float | None


@dataclass
class ModelDetail:
    server: Server
    name: str
    versions: list[ModelVersion]
    config: ModelConfig | None
    events: list[ModelEvent]
    series_versions: list[str]
    failure_reasons: list[str]
    comparisons: list[Comparison] = field(default_factory=list)


class ModelNotFound(LookupError):
    """No such model on the server, neither in its repository nor in its series."""


COMPARED = ("inferences_per_s", "queue_us_per_request", "pending_requests")


def model_detail(server: Server, name: str, window: timedelta, now: datetime | None = None) -> ModelDetail:
    """What a model page shows: versions, config, events in the window, comparisons."""
    now = now or timezone.now()
    versions = list(ModelVersion.objects.filter(server=server, name=name))
    series_versions = sorted(
        set(
            Series.objects.filter(server=server, model=name)
            .exclude(version="")
            .values_list("version", flat=True)
        ),
        key=_version_key,
    )
    if not versions and not series_versions:
        raise ModelNotFound(name)
    detail = ModelDetail(
        server=server,
        name=name,
        versions=versions,
        config=ModelConfig.objects.filter(server=server, name=name).first(),
        # Bounded: a page annotates at most the newest 200 events of its window.
        events=list(ModelEvent.objects.filter(server=server, name=name, at__gte=now - window)[:200]),
        series_versions=series_versions,
        failure_reasons=series_labels(server, "failures_per_s", name),
    )
    detail.comparisons = comparisons(server, name, now)
    return detail


def comparisons(server: Server, name: str, now: datetime) -> list[Comparison]:
    """The model's key metrics now and an hour ago, next to the fleet's (all servers, all models)."""
    servers = list(Server.objects.all())
    read = (*COMPARED, *_weights(COMPARED))
    fleet_now = [p for p in current(servers, read) if p.model]
    this_now = [p for p in fleet_now if p.server_id == server.id and p.model == name]
    hour_ago = latest_points([server.id], read, model=name, before=now - timedelta(hours=1))
    return [
        Comparison(
            metric=metric,
            unit=METRICS[metric].unit,
            now=weighted(this_now, metric, this_now),
            hour_ago=weighted(hour_ago, metric, hour_ago),
            # The fleet's queue time per request: Σ queue µs / Σ requests over every model.
            fleet=weighted(fleet_now, metric, fleet_now),
        )
        for metric in COMPARED
    ]


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
