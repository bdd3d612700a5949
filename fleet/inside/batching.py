"""The batches Triton forms, and tuning them live.

A reading sums one model's statistics over its versions: executions per batch size
(`batch_stats`: the batches actually formed), inferences, executions, requests and queue
time, all cumulative since the model loaded. A window's figures are the delta of two
readings (a reload starts the counters at zero again: a smaller count is a reset, counted
from zero as Prometheus' rate() does). Readings are kept (BatchReading) whenever the view
is read, so "the last N seconds" has a start.

A change of `max_queue_delay_microseconds` or `preferred_batch_size` is a config-override
load through the one control path (an audited Action, one at a time per model); the
action keeps the previous config, so "revert" loads it back. Triton swaps only once the
new config is READY: a refused config leaves the old one serving, and the action shows
Triton's error.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from django.utils import timezone

from .. import triton
from ..control.errors import InvalidRequest
from ..control.requests import request_action
from ..models import Action, BatchReading, Server

KEEP = timedelta(days=1)  # readings older than this are deleted as new ones come
KEEP_EVERY = timedelta(seconds=2)  # at most one kept reading per model this often
TUNED = ("max_queue_delay_microseconds", "preferred_batch_size")


class Totals(TypedDict):
    at: float  # unix seconds
    inferences: int
    executions: int
    requests: int
    queue_ns: int
    batches: dict[str, int]  # batch size (as text, JSON's keys) -> executions


class Window(TypedDict):
    """What the batches of one window show."""

    seconds: float | None  # None: since the model loaded (no earlier reading)
    histogram: list[dict[str, int]]  # [{size, executions}], by size
    mean_batch_size: float | None  # Σ size·executions / Σ executions: the formed batches
    inferences_per_execution: float | None
    inferences_per_s: float | None
    queue_us_per_request: float | None


def _count(pair: Any) -> tuple[int, int]:
    if not isinstance(pair, dict):
        return 0, 0
    return int(pair.get("count") or 0), int(pair.get("ns") or 0)


def totals_of(stats: list[dict[str, Any]], at: float) -> Totals:
    """Sum Triton's model_stats entries (one per version) into one reading."""
    out: Totals = {"at": at, "inferences": 0, "executions": 0, "requests": 0, "queue_ns": 0, "batches": {}}
    for entry in stats:
        out["inferences"] += int(entry.get("inference_count") or 0)
        out["executions"] += int(entry.get("execution_count") or 0)
        inference = entry.get("inference_stats") or {}
        out["requests"] += _count(inference.get("success"))[0]
        out["queue_ns"] += _count(inference.get("queue"))[1]
        for row in entry.get("batch_stats") or []:
            size = str(int(row.get("batch_size") or 0))
            out["batches"][size] = out["batches"].get(size, 0) + _count(row.get("compute_infer"))[0]
    return out


def read(server: Server, name: str) -> Totals:
    """Read the model's statistics now; keep the reading unless one was kept within
    KEEP_EVERY (many open pages must not write a row each per poll)."""
    now = timezone.now()
    totals = totals_of(triton.model_stats(server, name), now.timestamp())
    kept = BatchReading.objects.filter(server=server, model=name)
    if not kept.filter(at__gt=now - KEEP_EVERY).exists():
        BatchReading.objects.create(server=server, model=name, at=now, totals=totals)
        kept.filter(at__lt=now - KEEP).delete()
    return totals


def delta(start: Totals | None, end: Totals) -> Window:
    """The window from `start` to `end` (None, or a reset between them: since the load)."""
    reset = (
        start is None or end["executions"] < start["executions"] or end["inferences"] < start["inferences"]
    )
    base = None if reset else start
    seconds = None if base is None else end["at"] - base["at"]

    def d(key: str) -> int:
        return int(end[key]) - (int(base[key]) if base is not None else 0)  # type: ignore[literal-required]

    histogram = []
    for size in sorted(end["batches"], key=int):
        executions = end["batches"][size] - (base["batches"].get(size, 0) if base is not None else 0)
        if executions > 0:
            histogram.append({"size": int(size), "executions": executions})
    formed = sum(row["executions"] for row in histogram)
    inferences, executions, requests = d("inferences"), d("executions"), d("requests")
    return {
        "seconds": seconds,
        "histogram": histogram,
        "mean_batch_size": sum(r["size"] * r["executions"] for r in histogram) / formed if formed else None,
        "inferences_per_execution": inferences / executions if executions > 0 else None,
        "inferences_per_s": inferences / seconds if seconds else None,
        "queue_us_per_request": d("queue_ns") / 1000 / requests if requests > 0 else None,
    }


def reading_near(server: Server, name: str, at: datetime, until: datetime | None = None) -> Totals | None:
    """The kept reading at or just before `at`, else the oldest one after it (before `until`)."""
    rows = BatchReading.objects.filter(server=server, model=name)
    if until is not None:
        rows = rows.filter(at__lt=until)
    row = rows.filter(at__lte=at).order_by("-at").first() or rows.filter(at__gt=at).order_by("at").first()
    return row.totals if row is not None else None


def settings_of(config: dict[str, Any]) -> dict[str, Any]:
    dynamic = config.get("dynamic_batching")
    dynamic = dynamic if isinstance(dynamic, dict) else None
    return {
        "max_batch_size": int(config.get("max_batch_size") or 0),
        "dynamic_batching": dynamic is not None,
        "max_queue_delay_microseconds": int((dynamic or {}).get("max_queue_delay_microseconds") or 0),
        "preferred_batch_size": [int(n) for n in (dynamic or {}).get("preferred_batch_size") or []],
    }


def changes(server: Server, name: str) -> Any:
    """The model's batching changes (config-override loads), newest first."""
    return Action.objects.filter(
        server=server, model=name, kind=Action.Kind.LOAD, parameters__has_key="batching"
    ).select_related("server", "requested_by")


def before_after(action: Action, now: Totals) -> dict[str, Window] | None:
    """For the latest succeeded change: its first seconds after the reload (the counters
    started at zero then) next to as many seconds before it, from the kept readings."""
    if action.state != Action.State.SUCCEEDED or action.finished_at is None:
        return None
    before_end: Totals = action.parameters["batching"]["before"]
    after = delta(None, now)
    span = max(now["at"] - action.finished_at.timestamp(), 0.0)
    after["seconds"] = span
    after["inferences_per_s"] = now["inferences"] / span if span else None
    start = reading_near(action.server, action.model, datetime.fromtimestamp(before_end["at"] - span, tz=UTC))
    before = delta(start if start and start["at"] < before_end["at"] else None, before_end)
    return {"before": before, "after": after}


def request_change(server: Server, name: str, user: Any, change: dict[str, Any]) -> Action:
    """Queue a config-override load with the change (or, with {"revert": True}, the config
    that served before the latest succeeded change). Raises the control path's refusals."""
    config = triton.model_config(server, name)
    if int(config.get("max_batch_size") or 0) < 1:
        raise InvalidRequest(f"{name} does not batch (max_batch_size 0)")
    if change.get("revert"):
        last = changes(server, name).filter(state=Action.State.SUCCEEDED).order_by("-finished_at").first()
        if last is None:
            raise InvalidRequest(f"nothing to revert: no batching change of {name} on {server.name}")
        target = last.parameters["batching"]["previous_config"]
        asked: dict[str, Any] = {"revert_of": last.id}
    else:
        asked = {key: change[key] for key in TUNED if change.get(key) is not None}
        if not asked:
            raise InvalidRequest(f"give {' or '.join(TUNED)}, or revert")
        target = copy.deepcopy(config)
        dynamic = target.get("dynamic_batching")
        target["dynamic_batching"] = {**(dynamic if isinstance(dynamic, dict) else {}), **asked}
    before = read(server, name)
    batching = {"change": asked, "previous": settings_of(config), "previous_config": config, "before": before}
    return request_action(
        server, name, Action.Kind.LOAD, user, extra={"config": target, "batching": batching}
    )


class BatchingRecord(TypedDict):
    """The one wire format of the batching view: the API's answer, the page's data."""

    server: int
    model: str
    settings: dict[str, Any]  # max_batch_size, dynamic_batching, max_queue_delay_microseconds, ...
    window: Window
    change: dict[str, Any] | None  # the latest change: action id, state, what, error, before/after


def view(server: Server, name: str, since: float) -> BatchingRecord:
    """The batches formed over the last `since` seconds (from the kept reading nearest that
    start; since the load when there is none), the config's batching settings, and the
    latest change with its before and after."""
    config = triton.model_config(server, name)
    now = read(server, name)
    at = datetime.fromtimestamp(now["at"], tz=UTC)
    start = reading_near(server, name, at - timedelta(seconds=since), until=at)
    latest = changes(server, name).order_by("-requested_at").first()
    change = None
    if latest is not None:
        change = {
            "action": latest.id,
            "state": latest.state,
            "asked": latest.parameters["batching"]["change"],
            "previous": latest.parameters["batching"]["previous"],
            "error": latest.error,
            "compare": before_after(latest, now),
        }
    return {
        "server": server.id,
        "model": name,
        "settings": settings_of(config),
        "window": delta(start, now),
        "change": change,
    }
