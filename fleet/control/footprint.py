"""Measured footprints: how much memory a model takes on a server, seen through the server's
own memory gauge around each load FleetDeck performs.

Triton has no per-model memory in Prometheus, and the statistics' `memory_usage` is empty
for most backends (python among them). What it has is a host-wide gauge:
`nv_gpu_memory_used_bytes` per GPU (summed here), or `nv_cpu_memory_used_bytes` on a server
without GPUs. The gauge refreshes every `--metrics-interval-ms` (2 s), so:

- a load is measured by the increase, an unload by the decrease (an unload the autopilot
  makes for a load right after, an eviction, is not measured: it would delay that load);
- before a load, while the model has fewer than MEDIAN_OF observations, FleetDeck waits for
  a refresh (at most GAUGE_FRESH_S): a gauge up to 2 s old proved too often wrong on a busy
  host. After that (and before an unload) the current gauge serves if nothing changed on
  the server since its last refresh (no other action ended within GAUGE_FRESH_S); otherwise
  the action is not measured: an ensure that just evicted something should not pay 2 s for
  one more observation;
- after an unload, the second refresh (the backend's process returns its memory after the
  index shows the model gone);
- after the load, FleetDeck waits for a refresh (the gauge changes, or GAUGE_FRESH_S pass);
- an observation during which another action ran on the server is dropped, and so is one
  that went the wrong way (the host freed more meanwhile than the model took).

The figure the autopilot budgets with is the median of the last MEDIAN_OF observations
(the gauge is host-wide and noisy), else the statistics' memory_usage, else a size the
model's config declares (parameter FOOTPRINT_PARAMETER), else unknown.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .. import triton
from ..derive import MetricsParseError, parse
from ..models import Action, Footprint, ModelConfig, ModelVersion, Server

log = logging.getLogger(__name__)

GAUGE_FRESH_S = 2.5  # Triton's default --metrics-interval-ms is 2000
POLL_S = 0.1
MEDIAN_OF = 5
KEEP = 20  # observations kept per (server, model)
FOOTPRINT_PARAMETER = "fleetdeck_memory_bytes"
_GPU = "nv_gpu_memory_used_bytes"
_CPU = "nv_cpu_memory_used_bytes"
_LOADED = (ModelVersion.State.READY, ModelVersion.State.LOADING, ModelVersion.State.UNLOADING)


@dataclass(frozen=True)
class Sample:
    gauge: str
    value: float
    # The gauge shows the server as it was at this time (our clock) or later.
    valid_from: datetime
    versions: str = ""  # the model's READY versions when it was read


def _ready_versions(server: Server, name: str) -> str:
    rows = ModelVersion.objects.filter(server=server, name=name, state=ModelVersion.State.READY)
    return ",".join(sorted(rows.values_list("version", flat=True)))


def read(server: Server, valid_from: datetime | None = None) -> Sample | None:
    """The server's memory gauge now; None when it exports neither gauge."""
    exposition = triton.fetch_metrics(server)
    snapshot = parse(exposition.text, exposition.at)
    gpu = [v for key, v in snapshot.gauges.items() if key[0] == _GPU]
    cpu = [v for key, v in snapshot.gauges.items() if key[0] == _CPU]
    if not gpu and not cpu:
        return None
    stale = timezone.now() - timedelta(seconds=GAUGE_FRESH_S)
    return Sample(_GPU if gpu else _CPU, sum(gpu or cpu), valid_from or stale)


def fresh(server: Server) -> Sample | None:
    """A sample refreshed after this call began: the first value that differs from the
    current one, or the value GAUGE_FRESH_S later (a refresh that changed nothing)."""
    began = timezone.now()
    first = read(server, began)
    deadline = time.monotonic() + GAUGE_FRESH_S
    latest = first
    while first is not None and time.monotonic() < deadline:
        time.sleep(POLL_S)
        latest = read(server, began)
        if latest is None or latest.value != first.value:
            break
    return latest


def _other_actions(action: Action, since: datetime) -> Q:
    # Another action on the server that ran at any time from `since` on.
    ended_since = Q(finished_at__isnull=True) | Q(finished_at__gte=since)
    return Q(server_id=action.server_id) & ~Q(id=action.id) & ended_since


def before(action: Action) -> Sample | None:
    """The gauge to measure this load or unload against; None when it will not be measured
    (a load of a loaded model: a reload shows no delta; an unload of a model that is not
    READY, or one made to make room; no gauge; Triton errs)."""
    server, name = action.server, action.model
    present = ModelVersion.objects.filter(server=server, name=name, state__in=_LOADED)
    if action.kind == Action.Kind.LOAD and present.exists():
        return None
    if action.kind == Action.Kind.UNLOAD and (
        action.parameters.get("evicted_for") or not present.filter(state=ModelVersion.State.READY).exists()
    ):
        return None
    recent = timezone.now() - timedelta(seconds=GAUGE_FRESH_S)
    busy = Action.objects.filter(_other_actions(action, recent)).exclude(state=Action.State.QUEUED).exists()
    learning = Footprint.objects.filter(server=server, name=name).count() < MEDIAN_OF
    try:
        if action.kind == Action.Kind.LOAD and learning:
            sample = fresh(server)  # until the figure stands, a refresh right before the load
        elif not busy:
            sample = read(server)
        else:
            return None
    except (triton.TritonError, MetricsParseError) as exc:
        log.info("no footprint for %s on %s: %s", name, server.name, exc)
        return None
    if sample is None:
        return None
    return Sample(sample.gauge, sample.value, sample.valid_from, _ready_versions(server, name))


def after(action_id: int, before: Sample, load_s: float | None) -> Footprint | None:
    """Wait for a refreshed gauge and record the observation (None when it was dropped)."""
    action = Action.objects.select_related("server").get(id=action_id)
    server, name = action.server, action.model
    try:
        now = fresh(server)
        if action.kind == Action.Kind.UNLOAD and now is not None:
            # The index shows the model gone before its backend process has exited and
            # returned its memory: the first refresh after an unload can still hold it.
            now = fresh(server)
    except (triton.TritonError, MetricsParseError) as exc:
        log.info("no footprint for %s on %s: %s", name, server.name, exc)
        return None
    if now is None or now.gauge != before.gauge:
        return None
    overlapping = Action.objects.filter(_other_actions(action, before.valid_from)).filter(
        Q(started_at__isnull=False) | Q(state=Action.State.RUNNING)
    )
    if overlapping.exists():
        log.info("footprint of %s on %s dropped: another action ran meanwhile", name, server.name)
        return None
    change = now.value - before.value if action.kind == Action.Kind.LOAD else before.value - now.value
    log.info("%s of %s on %s: %s changed by %.0f", action.kind, name, server.name, now.gauge, change)
    if change <= 0:
        return None  # the host freed more than the model took meanwhile: noise, not a size
    ready = ModelVersion.objects.filter(server=server, name=name, state=ModelVersion.State.READY)
    versions = before.versions if action.kind == Action.Kind.UNLOAD else _ready_versions(server, name)
    reported = [b for b in ready.values_list("memory_usage_bytes", flat=True) if b is not None]
    footprint = Footprint.objects.create(
        server=server,
        name=name,
        version=versions,
        bytes=int(change),
        gauge=now.gauge,
        statistics_bytes=sum(reported) if reported else None,
        load_s=load_s,
        action_id=action_id,
    )
    old = Footprint.objects.filter(server=server, name=name).order_by("-measured_at", "-id")[KEEP:]
    Footprint.objects.filter(id__in=list(old.values_list("id", flat=True))).delete()
    return footprint


def figures(server: Server | int) -> dict[str, int]:
    """Each model's memory on the server, in bytes, where known: the median of its last
    MEDIAN_OF measurements, else the statistics' memory_usage, else its declared size."""
    server_id = server if isinstance(server, int) else server.id
    seen: dict[str, list[int]] = {}
    rows = Footprint.objects.filter(server_id=server_id).order_by("name", "-measured_at", "-id")
    for name, size in rows.values_list("name", "bytes"):
        if len(seen.setdefault(name, [])) < MEDIAN_OF:
            seen[name].append(size)
    out = {name: int(statistics.median(sizes)) for name, sizes in seen.items()}
    reported: dict[str, int] = {}
    for name, usage in ModelVersion.objects.filter(
        server_id=server_id, memory_usage_bytes__isnull=False, state=ModelVersion.State.READY
    ).values_list("name", "memory_usage_bytes"):
        reported[name] = reported.get(name, 0) + int(usage or 0)
    for name, size in reported.items():
        out.setdefault(name, size)
    for name, config in ModelConfig.objects.filter(server_id=server_id).values_list("name", "config"):
        declared = _declared(config)
        if declared is not None:
            out.setdefault(name, declared)
    return out


def _declared(config: object) -> int | None:
    try:
        value = config["parameters"][FOOTPRINT_PARAMETER]["string_value"]  # type: ignore[index]
        size = int(value)
    except (KeyError, TypeError, ValueError):
        return None
    return size if size >= 0 else None


def load_seconds(server: Server | int) -> dict[str, float]:
    """Each model's last load time on the server (its cold-start cost), from the actions."""
    server_id = server if isinstance(server, int) else server.id
    out: dict[str, float] = {}
    rows = (
        Action.objects.filter(
            server_id=server_id,
            state=Action.State.SUCCEEDED,
            kind=Action.Kind.LOAD,
            load_duration_s__isnull=False,
        )
        .order_by("model", "-finished_at")
        .values_list("model", "load_duration_s")
    )
    for name, seconds in rows:
        if seconds is not None:
            out.setdefault(name, float(seconds))
    return out
