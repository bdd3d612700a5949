"""Fleet rules: scraping a server and refreshing its inventory.

A server is registered by creating its row (the API, /admin/, the shell); fleet/signals.py
then queues its first scrape at once, wherever it was created.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, TextField, Value, When
from django.utils import timezone

from . import frames, own_stats, prometheus, storage, triton
from .alerting import evaluate
from .autopilot import usage
from .broadcast import FLEET_GROUP, model_group, send, server_group
from .catalog import PROMETHEUS_METRICS
from .deploy import selector
from .derive import MAX_MODEL, MAX_VERSION, Derived, MetricsParseError, Snapshot, derive, parse
from .model_figures import ModelFigures, per_model
from .models import ModelConfig, ModelEvent, ModelVersion, Server

log = logging.getLogger(__name__)

# What a live frame carries in Prometheus mode (one instant query each).
LIVE_METRICS = PROMETHEUS_METRICS


def scrape_server(server_id: int, dispatched_at: float | None = None) -> bool | None:
    """Scrape one server's metrics (and, when due, its inventory), store, broadcast, evaluate
    its alert rules, and record the scrape's own figures (fleet.own_stats: duration, queue lag
    since beat's `dispatched_at`, the models' saturation figures) in one Redis round trip.

    Returns whether the server answered, None if it no longer exists.

    Safe to run twice or out of order: a snapshot older than the stored baseline is dropped.
    A server that does not answer, or answers garbage, is marked down with the error; its
    earlier data stays, and its series get a gap marker (see mark_down), never zeros.
    """
    started = time.time()
    server = Server.objects.filter(id=server_id).first()
    if server is None:
        return None
    ok, saturation = _scrape(server)
    lag = started - dispatched_at if dispatched_at is not None else None
    own_stats.record_scrape(server_id, time.time() - started, lag, ok, saturation)
    return ok


def _scrape(server: Server) -> tuple[bool, own_stats.Saturation | None]:
    """scrape_server's work: whether the server answered, and its saturation figures to
    record (None: leave them as they are)."""
    if settings.PROMETHEUS_URL:
        return refresh_inventory_if_due(server), None
    try:
        exposition = triton.fetch_metrics(server)
        # Stamped by the database's clock, the one clock every worker shares: a worker whose
        # own clock is behind would otherwise write scrapes that look older than the last one.
        snapshot = parse(exposition.text, exposition.at + _clock_offset())
    except (triton.TritonError, MetricsParseError) as exc:
        return False, mark_down(server, str(exc))
    exported = len(snapshot.counters) + len(snapshot.gauges)
    if exported > settings.FLEET_MAX_SERIES_PER_SERVER:
        # A label explosion: refused whole, so it cannot fill the disk; the rest of the fleet
        # is scraped as usual.
        cap = settings.FLEET_MAX_SERIES_PER_SERVER
        refused = f"refused: exports {exported} series, more than FLEET_MAX_SERIES_PER_SERVER={cap}"
        return False, mark_down(server, refused)
    if snapshot.dropped:
        # NaN, ±Inf, a negative counter or a NUL: those series get no point; the rest flow.
        log.warning("scrape of %s: %d series left out", server.name, snapshot.dropped)

    if inventory_due(server):
        refresh_inventory(server)

    at = datetime.fromtimestamp(snapshot.at, tz=UTC)
    with transaction.atomic():
        locked = Server.objects.select_for_update().get(id=server.id)
        previous = Snapshot.from_json(locked.last_counters)
        if previous is not None and previous.at >= snapshot.at:
            # A redelivered or overtaken task: a newer scrape already stored its window.
            late = previous.at - snapshot.at
            log.warning("scrape of %s dropped: %.3f s older than the stored one", server.name, late)
            return True, None
        values = derive(previous, snapshot)
        storage.store(locked, at, values)
        live = Live.of(locked, Server.Status.UP, at, values, _inventory_error(locked.last_error), at)
        Server.objects.filter(id=server.id).update(
            status=Server.Status.UP,
            last_scrape_at=at,
            last_error=_kept_inventory_error(),
            last_counters=snapshot.to_json(),
            summary=live.summary,
        )
    live.publish()
    since = datetime.fromtimestamp(previous.at, tz=UTC) if previous is not None else None
    error = _inventory_error(locked.last_error)
    return True, evaluate.after_scrape(locked, Server.Status.UP, values, at, since, error, live.figures)


def _clock_offset() -> float:
    """Seconds to add to this process's clock to get the database's."""
    if connection.vendor == "postgresql":
        sql = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8"
    else:  # SQLite runs in this process, on this machine's clock (in C, not Python's time)
        sql = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    with connection.cursor() as cursor:
        before = time.time()
        cursor.execute(sql)
        database_now = float(cursor.fetchone()[0])
        local_now = (before + time.time()) / 2
    return database_now - local_now


def refresh_inventory_if_due(server: Server) -> bool:
    """Prometheus mode's per-server task: metrics come from Prometheus (see
    scrape_fleet_via_prometheus); the repository index, statistics and configs still come
    from the server itself."""
    if inventory_due(server):
        refresh_inventory(server)
    return True


def scrape_fleet_via_prometheus() -> int:
    """One tick in Prometheus mode: every server's status and live frame from a handful of
    fleet-wide PromQL queries. Returns how many servers are up."""
    servers = list(Server.objects.defer("last_counters", "summary"))
    try:
        states = prometheus.fleet_state(servers, LIVE_METRICS)
    except prometheus.PrometheusError as exc:
        # Prometheus is down, not necessarily the servers: unknown, not down.
        for server in servers:
            mark_down(server, f"prometheus: {exc}", status=Server.Status.UNKNOWN)
        return 0
    now = timezone.now()
    versions = _versions([s.id for s in servers])
    saturation: dict[int, own_stats.Saturation] = {}  # written at the end, in one round trip
    for server in servers:
        state = states[server.id]
        if not state.up:
            if (down := mark_down(server, state.error)) is not None:
                saturation[server.id] = down
            continue
        error = _inventory_error(server.last_error)
        live = Live.of(server, Server.Status.UP, now, state.values, error, now, versions[server.id])
        Server.objects.filter(id=server.id).update(
            status=Server.Status.UP,
            last_scrape_at=now,
            last_error=_kept_inventory_error(),
            summary=live.summary,
        )
        live.publish()
        since = server.last_scrape_at
        found = evaluate.after_scrape(server, Server.Status.UP, state.values, now, since, error, live.figures)
        if found is not None:
            saturation[server.id] = found
    own_stats.record_saturation(saturation)
    return sum(state.up for state in states.values())


# An inventory error (say, a missing --http-restricted-api header) outlives the metric
# scrapes in between: only the next inventory read clears it.
INVENTORY_ERROR = "inventory: "


def _inventory_error(last_error: str) -> str:
    """Python's _kept_inventory_error, for a row read under its lock."""
    return last_error if last_error.startswith(INVENTORY_ERROR) else ""


def _kept_inventory_error() -> Case:
    """last_error after a good metrics scrape: empty, unless the inventory read failed."""
    return Case(
        When(last_error__startswith=INVENTORY_ERROR, then=F("last_error")),
        default=Value(""),
        output_field=TextField(),
    )


def mark_down(server: Server, error: str, status: str = Server.Status.DOWN) -> own_stats.Saturation | None:
    """Record a failed scrape. Dropping the counter baseline keeps rates from spanning the gap;
    on the first failure after a good scrape, the server's series get a gap marker. Returns
    the saturation figures to record (none: the server's are removed), as after_scrape."""
    log.info("scrape of %s failed: %s", server.name, error)
    now = timezone.now()
    with transaction.atomic():
        locked = Server.objects.select_for_update().filter(id=server.id)
        row = locked.only("id", "name", "status", "last_scrape_at").first()
        if row is None:
            return None
        live = Live.of(row, status, now, [], error[:2000], row.last_scrape_at)
        locked.update(status=status, last_error=error[:2000], last_counters=None, summary=live.summary)
        if row.status == Server.Status.UP and server.last_scrape_at is not None:
            storage.mark_gap(server, since=server.last_scrape_at, at=now)
    live.publish()
    return evaluate.after_scrape(server, status, [], now, row.last_scrape_at, error)


@dataclass(frozen=True)
class Live:
    """One scrape's live frames: the whole frame, the server's summary, its models."""

    whole: frames.Frame
    summary: frames.ServerSummary
    models: list[str]
    figures: dict[str, ModelFigures]  # per model, versions combined: the rankings' and the rules'

    @classmethod
    def of(
        cls,
        server: Server,
        status: str,
        at: datetime,
        values: Sequence[Derived],
        error: str,
        last_scrape_at: datetime | None,
        versions: list[tuple[str, str]] | None = None,
    ) -> Live:
        if versions is None:
            versions = list(ModelVersion.objects.filter(server_id=server.id).values_list("name", "state"))
        whole = frames.frame(server.id, status, at, values, error)
        figures = per_model(values) if status == Server.Status.UP else {}
        summary = frames.summary(server.id, server.name, whole, last_scrape_at, versions, figures)
        return cls(whole, summary, sorted({name for name, _ in versions}), figures)

    def publish(self) -> None:
        """Each page's share, once: the summary to the overview, the server page's values
        to the server's group, each model's values to the model's group."""
        server_id = self.whole["server_id"]
        models = frames.model_frames(self.whole, self.models)
        send(
            [
                (FLEET_GROUP, "fleet.summary", self.summary),
                (server_group(server_id), "fleet.frame", frames.server_frame(self.whole)),
                *((model_group(name), "fleet.frame", frame) for name, frame in models.items()),
            ]
        )


def _versions(server_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each server's (model, state) rows, in one query."""
    out: dict[int, list[tuple[str, str]]] = {i: [] for i in server_ids}
    rows = ModelVersion.objects.filter(server_id__in=server_ids).values_list("server_id", "name", "state")
    for server_id, name, state in rows:
        out[server_id].append((name, state))
    return out


def inventory_due(server: Server, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    interval = timedelta(seconds=settings.FLEET_INVENTORY_INTERVAL)
    return server.inventory_at is None or now - server.inventory_at >= interval


def keep_live_config(server: Server, name: str) -> dict[str, Any]:
    """Triton's live config of the model, kept in the inventory; raises triton.TritonError."""
    config = triton.model_config(server, name)
    ModelConfig.objects.update_or_create(server=server, name=name, defaults={"config": config})
    return config


def refresh_index(server: Server) -> None:
    """The repository index alone into the database (one read; no statistics, no configs):
    what an eviction's row needs before it ends, its load refreshing the rest right after."""
    now = timezone.now()
    try:
        index = triton.repository_index(server)
    except triton.TritonError as exc:
        Server.objects.filter(id=server.id).update(last_error=f"{INVENTORY_ERROR}{exc}"[:2000])
        return
    with transaction.atomic():
        Server.objects.select_for_update().filter(id=server.id).first()  # see refresh_inventory
        apply_index(server, index, now)


def refresh_inventory(server: Server) -> None:
    """Read the repository index, statistics and configs into the database.

    Errors are recorded in last_error; the metrics scrape still counts the server as up,
    since its metrics answered.
    """
    now = timezone.now()
    try:
        index = triton.repository_index(server)
        stats = triton.model_statistics(server)
    except triton.TritonError as exc:
        Server.objects.filter(id=server.id).update(last_error=f"{INVENTORY_ERROR}{exc}"[:2000])
        return
    Server.objects.filter(id=server.id, last_error__startswith=INVENTORY_ERROR).update(last_error="")
    with transaction.atomic():
        # The web process (a control request) and the worker both refresh inventories: the
        # row lock makes one wait for the other instead of both inserting the same versions.
        Server.objects.select_for_update().filter(id=server.id).first()
        changed = apply_index(server, index, now)
        memory = apply_statistics(server, stats)
        usage.note(server, stats, now)
    storage.store(
        server,
        now,
        [Derived("memory_usage_bytes", float(b), name, version) for (name, version), b in memory.items()],
    )
    have_config = set(ModelConfig.objects.filter(server=server).values_list("name", flat=True))
    ready = {row["name"] for row in index if row.get("state") == ModelVersion.State.READY}
    # Changed models first, then those still without a config; at most a bounded number per
    # read, so a large index (or configs that keep failing) cannot hold a worker for long:
    # the rest come with the next inventory reads.
    wanted = sorted(ready & changed) + sorted((ready - have_config) - changed)
    wanted += _rechecks(server, ready - set(wanted))
    for name in wanted[: settings.FLEET_CONFIG_READS_PER_INVENTORY]:
        try:
            keep_live_config(server, name)
        except triton.TritonError as exc:
            log.info("config of %s on %s: %s", name, server.name, exc)
    Server.objects.filter(id=server.id).update(inventory_at=now)
    server.inventory_at = now


def _rechecks(server: Server, ready: set[str]) -> list[str]:
    """Configs read again although the index did not change: those of models a deployment
    overrides part of the config of, least recently read first. A reload on Triton with
    another config leaves the index as it was; reconcile compares against these (fleet.deploy
    .reconcile). Only those: a reload that changes only the version policy over the same
    READY versions is one Triton itself ignores (fleet.control.converge)."""
    names = ready & selector.overridden_models(server)
    if not names:
        return []
    rows = ModelConfig.objects.filter(server=server, name__in=names).order_by("fetched_at")
    return list(rows.values_list("name", flat=True))


def apply_index(server: Server, index: list[dict[str, Any]], now: datetime) -> set[str]:
    """Mirror the repository index; record state changes as events. Returns changed names.

    New versions and events are written in bulk: the first read of a 2,000-model repository
    would otherwise be 4,000 single inserts (11 s on a busy 2-core machine).
    """
    current = {(m.name, m.version): m for m in ModelVersion.objects.filter(server=server)}
    seen: set[tuple[str, str]] = set()
    changed: set[str] = set()
    added: list[ModelVersion] = []
    events: list[ModelEvent] = []
    for row in index:
        name = str(row.get("name", ""))
        if not name:
            continue
        version = str(row.get("version", ""))
        # A model in the repository that was never loaded comes with no state at all.
        state = str(row.get("state") or ModelVersion.State.UNAVAILABLE)
        reason = str(row.get("reason") or ("" if row.get("state") else "not loaded"))
        if (name, version) in seen:
            continue  # Triton lists a version once; a repeat would break the bulk insert
        seen.add((name, version))
        existing = current.get((name, version))
        if existing is None:
            added.append(ModelVersion(server=server, name=name, version=version, state=state, reason=reason))
        elif (existing.state, existing.reason) != (state, reason):
            ModelVersion.objects.filter(id=existing.id).update(state=state, reason=reason, updated_at=now)
        else:
            continue
        changed.add(name)
        events.append(
            ModelEvent(
                server=server,
                name=name,
                version=version,
                at=now,
                old_state=existing.state if existing else "",
                new_state=state,
                reason=reason,
            )
        )
    ModelVersion.objects.bulk_create(added, batch_size=500)
    ModelEvent.objects.bulk_create(events, batch_size=500)
    gone = [m.id for key, m in current.items() if key not in seen]
    ModelVersion.objects.filter(id__in=gone).delete()
    return changed


def _byte_size(item: Any) -> int | None:
    """Triton writes byte_size as a JSON number (uint64 may come as a string); else None."""
    value = item.get("byte_size", 0) if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        size = int(value)
    except ValueError:
        return None
    return size if size >= 0 else None


def apply_statistics(server: Server, stats: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Store each version's memory_usage (summed over its entries); returns what was stored."""
    memory: dict[tuple[str, str], int] = {}
    for entry in stats:
        usage = entry.get("memory_usage")
        # Backends that do not estimate memory (python, most others) report an empty list:
        # that is "unknown", not zero bytes.
        if not isinstance(usage, list) or not usage:
            continue
        sizes = [_byte_size(item) for item in usage]
        if None in sizes:  # one unreadable entry makes the total unknown, not smaller
            log.info("%s: unreadable memory_usage for %s", server.name, entry.get("name"))
            continue
        name, version = str(entry.get("name", "")), str(entry.get("version", ""))
        if len(name) > MAX_MODEL or len(version) > MAX_VERSION:
            continue  # no such model can be in the index, nor a series: storage has no room
        memory[(name, version)] = sum(s or 0 for s in sizes)
    for (name, version), total in memory.items():
        ModelVersion.objects.filter(server=server, name=name, version=version).update(
            memory_usage_bytes=total
        )
    return memory
