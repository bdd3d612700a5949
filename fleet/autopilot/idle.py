"""Idle unload (beat) and the plan the server page shows.

A model is idle when statistics' last_inference has not changed for `idle_unload_s` by
FleetDeck's clock (fleet/autopilot/usage.py: Triton's own clock is never compared with
ours). Beat reads fresh statistics and metrics first, so a model that served a second ago,
or that has requests pending (nv_inference_pending_request_count, which counts those the
rate limiter holds), is never unloaded. Pinned models, and models with an action under way
(one action per model), are left alone. In dry-run mode nothing is requested: the plan
(`plan`) shows what would be unloaded, and what would be evicted next, and why.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypedDict

from django.conf import settings
from django.utils import timezone

from .. import triton
from ..control.errors import ActionInProgress
from ..control.requests import request_action
from ..derive import MetricsParseError, parse
from ..models import Action, AutopilotPolicy, ModelVersion, Server
from . import budget, usage
from .ensure import autopilot_user

log = logging.getLogger(__name__)


class PlanStep(TypedDict):
    """One line of the plan: what the autopilot would do next to one model, and why."""

    model: str
    step: str  # "unload" (idle) or "evict next" (the first to go for a load that needs room)
    reason: str
    bytes: int | None


def idle_seconds(server: Server, now: datetime | None = None) -> dict[str, float]:
    """Seconds since each READY model's last_inference last changed (our clock)."""
    now = now or timezone.now()
    out: dict[str, float] = {}
    rows = ModelVersion.objects.filter(server=server, state=ModelVersion.State.READY)
    for name, seen in rows.values_list("name", "last_inference_seen_at"):
        if seen is not None:
            idle = max((now - seen).total_seconds(), 0.0)
            out[name] = min(out.get(name, idle), idle)  # a model is as busy as its busiest version
    return out


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def plan(server: Server, rules: AutopilotPolicy | None = None, now: datetime | None = None) -> list[PlanStep]:
    """What the autopilot would do next, from FleetDeck's own view (no Triton call)."""
    rules = rules or AutopilotPolicy.objects.filter(server=server).first()
    if rules is None or not rules.enabled:
        return []
    held = budget.holdings(server, rules)
    idle = idle_seconds(server, now)
    steps: list[PlanStep] = []
    limit = rules.idle_unload_s
    for holding in held:
        seconds = idle.get(holding.name)
        if limit is None or seconds is None or seconds < limit:
            continue
        if holding.pinned or holding.coming or holding.leaving:
            continue
        steps.append(
            {
                "model": holding.name,
                "step": "unload",
                "reason": f"idle {_duration(seconds)}",
                "bytes": holding.bytes,
            }
        )
    ranked = [h for h in budget.ranked(held) if h.name not in {s["model"] for s in steps}]
    if ranked and rules.memory_budget_bytes is not None:
        first = ranked[0]
        cost = f"{first.load_s:.1f} s" if first.load_s is not None else "unknown"
        steps.append(
            {
                "model": first.name,
                "step": "evict next",
                "reason": f"least recently used of the unpinned models; reload {cost}",
                "bytes": first.bytes,
            }
        )
    return steps


def _pending(server: Server) -> dict[str, float]:
    exposition = triton.fetch_metrics(server)
    snapshot = parse(exposition.text, exposition.at)
    out: dict[str, float] = {}
    for (family, model, _version, _label), value in snapshot.gauges.items():
        if family == "nv_inference_pending_request_count":
            out[model] = out.get(model, 0.0) + value
    return out


def unload_idle(server_id: int) -> list[int]:
    """Request the unload of every idle model of the server (beat); returns the action ids.
    Does nothing in read-only mode, with the autopilot off or without an idle timeout, and
    in dry-run mode (the plan shows it instead)."""
    server = Server.objects.filter(id=server_id).first()
    rules = AutopilotPolicy.objects.filter(server_id=server_id).first()
    if server is None or rules is None or not rules.enabled or rules.idle_unload_s is None:
        return []
    if settings.FLEET_READ_ONLY:
        return []
    try:
        usage.note(server, triton.model_statistics(server))  # a request a second ago counts
        pending = _pending(server)
    except (triton.TritonError, MetricsParseError) as exc:
        log.info("autopilot: %s cannot be read (%s); no idle unload this round", server.name, exc)
        return []
    steps = [s for s in plan(server, rules) if s["step"] == "unload" and not pending.get(s["model"])]
    if rules.dry_run or not steps:
        return []
    bot = autopilot_user()
    requested = []
    for step in steps:
        try:
            action = request_action(
                server, step["model"], Action.Kind.UNLOAD, bot, confirm=True, extra={"reason": step["reason"]}
            )
        except ActionInProgress:
            continue  # someone is acting on it: next round
        requested.append(action.id)
    return requested


def servers_with_idle_unload() -> list[int]:
    rows = AutopilotPolicy.objects.filter(enabled=True, idle_unload_s__isnull=False, dry_run=False)
    return list(rows.values_list("server_id", flat=True))
