"""What the dashboard shows at a glance: the latest values per server and model.

Every read here is bounded: the newest point of each series is one backward step on the
(series, at) index, never a scan of the window. A value counts as current only when it
came from the server's latest successful scrape and the server is up, so a model that was
unloaded, or a server that went down, shows no number rather than an old one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.utils import timezone

from . import frames, storage
from .catalog import METRICS, combine
from .models import ModelConfig, ModelEvent, ModelVersion, Series, Server

TABLE_METRICS = frames.TABLE_METRICS
SERVER_METRICS = frames.SERVER_METRICS
RANKINGS = frames.RANKINGS
RANK_LIMIT = frames.RANK_LIMIT


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
    """Memory of one device (a frames.MemoryBar) as the templates read it."""

    label: str
    used: float | None
    total: float | None

    @property
    def percent(self) -> float | None:
        if self.used is None or not self.total:
            return None
        return 100.0 * self.used / self.total


def memory(bars: Iterable[frames.MemoryBar]) -> list[Memory]:
    return [Memory(b["label"], b["used"], b["total"]) for b in bars]


@dataclass(frozen=True)
class Ranked:
    """A model on a server in one of the fleet's rankings."""

    server_id: int
    server_name: str
    model: str
    values: dict[str, float | None]


@dataclass(frozen=True)
class FleetOverview:
    servers: list[frames.ServerSummary]
    busiest: list[Ranked]
    most_queued: list[Ranked]
    inferences_per_s: float


def summary_of(server: Server) -> frames.ServerSummary:
    """The server's summary as its last scrape published it, with what the row knows better
    now (a rename, a status set since). Steady, it is the published frame itself."""
    stored = cast("frames.ServerSummary | None", server.summary)
    base = stored or frames.unscraped(server.id, server.name, server.status, server.last_error)
    return {
        **base,
        "name": server.name,
        "status": server.status,
        "error": server.last_error,
        "last_scrape_at": server.last_scrape_at.timestamp() if server.last_scrape_at else None,
    }


def fleet_ranking(summaries: Iterable[frames.ServerSummary], name: str, limit: int) -> list[Ranked]:
    """The fleet's ranking `name`: the best of the servers' own top entries."""
    entries = [
        Ranked(s["server_id"], s["name"], e["model"], e["values"])
        for s in summaries
        for e in cast("Mapping[str, list[frames.RankedModel]]", s)[name]
    ]
    return frames.rank(entries, RANKINGS[name], limit, values=lambda r: r.values)


def fleet_overview(limit: int = RANK_LIMIT) -> FleetOverview:
    """Every server's summary, and the busiest and most queued models: one query, whatever
    the fleet's size (the worker summarized each scrape)."""
    servers = [summary_of(s) for s in Server.objects.defer("last_counters")]
    up = [s for s in servers if s["status"] == Server.Status.UP]
    return FleetOverview(
        servers=servers,
        busiest=fleet_ranking(up, "busiest", limit),
        most_queued=fleet_ranking(up, "most_queued", limit),
        inferences_per_s=sum(s["inferences_per_s"] or 0.0 for s in up),
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


def server_summary(server: Server) -> frames.ServerSummary:
    """The server page's header: the summary the overview shows. Before the first scrape
    has summarized the server, its models are counted from the inventory already mirrored
    (a registration or a control call reads the index first), so the header agrees with the
    page's model table instead of saying 0 / 0."""
    summary = summary_of(server)
    if server.summary is None:
        names = ModelVersion.objects.filter(server=server).values_list("name", "state")
        summary["total"] = len({name for name, _ in names})
        summary["ready"] = len({name for name, state in names if state == ModelVersion.State.READY})
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
    """The model's key metrics now and an hour ago, next to the same model across the fleet
    (every server that has it), as its page's model group carries them live."""
    read = (*COMPARED, *_weights(COMPARED))
    fleet_now = current(model_servers(name), read, model=name)
    this_now = [p for p in fleet_now if p.server_id == server.id]
    hour_ago = latest_points([server.id], read, model=name, before=now - timedelta(hours=1))
    return [
        Comparison(
            metric=metric,
            unit=METRICS[metric].unit,
            now=weighted(this_now, metric, this_now),
            hour_ago=weighted(hour_ago, metric, hour_ago),
            # Σ queue µs / Σ requests over the model's versions on every server.
            fleet=weighted(fleet_now, metric, fleet_now),
        )
        for metric in COMPARED
    ]


def model_servers(name: str) -> list[Server]:
    """The servers that have a model: in their repository, or with series of it."""
    # order_by(): the models' default ordering would put an ORDER BY inside the UNION, which
    # SQLite (the demo's database) refuses.
    ids = (
        ModelVersion.objects.filter(name=name)
        .order_by()
        .values("server_id")
        .union(Series.objects.filter(model=name).order_by().values("server_id"))
    )
    return list(Server.objects.filter(id__in=ids).defer("last_counters", "summary"))


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
