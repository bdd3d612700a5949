"""Alert evaluation, as data arrives: the scrape path calls `after_scrape` with the values
it just derived (fleet.services, either metrics mode), the action path calls `after_action`
when an action ends (fleet.control.record.finish), and beat's fan-out calls
`stale_servers` for servers whose scrapes stopped arriving. Nothing polls the database for
metrics.

Per scrape: the per-model figures the scrape already computed for its summary
(fleet.model_figures, passed in); one statement for the rules' fingerprint and the server's
open alerts (rules.watching_with_open); the saturation figures are returned, and the scrape
writes them in its own Redis round trip (own_stats.record_scrape); the model configs behind
the busy ratio are cached per server until its next inventory read; a queue-time cause is
worked out only for an alert row that is written (a pending alert keeps its first figures),
and the actions in progress are read only when a cause gets that far. Writes only when
something changed (bulk where it can).
States: pending (the condition holds, for less than the rule's `for_s`) → firing →
resolved. A pending alert whose condition stops holding is dropped. One open alert per
(rule, target), decided by the database (a partial unique constraint).

The condition's time starts with the window it was seen in: a rate over (previous scrape,
this scrape] held from the previous scrape; a server that stopped answering has been down
since its last good scrape. So `server_down` for two intervals fires at the second failed
scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.utils import timezone

from .. import own_stats
from ..derive import Derived
from ..model_figures import ModelFigures, per_model
from ..models import Action, Alert, AlertRule, DeploymentTarget, ModelConfig, ModelVersion, Server
from . import causes, notify, rules, saturation
from .states import Seen, target, transition

log = logging.getLogger(__name__)

Kind = AlertRule.Kind
SCRAPE_KINDS = frozenset(
    {Kind.QUEUE_TIME, Kind.FAILURE_RATE, Kind.MODEL_NOT_READY, Kind.SERVER_DOWN, Kind.SCRAPE_ERRORS}
)
# A server marked up without a scrape for this many intervals is stale.
STALE_INTERVALS = 3
# Reasons Triton gives a model that is simply not loaded (not a failure).
NOT_LOADED = frozenset({"", "unloaded", "not loaded"})

# (monotonic time, server id -> its loads and unloads in progress), the whole fleet's: see
# _server_load.
_actions: tuple[float, dict[int, list[tuple[int, str, str]]]] | None = None
# server id -> (version, {model: Shape}). The version is the configs' own where the scrape's
# query read it (rules.Watched.configs): an inventory read that rewrote no config (most)
# keeps the cache, and reading 50 configs back cost a scrape ~10 ms. Else inventory_at:
# configs change only with an inventory read.
_shapes: dict[int, tuple[Any, dict[str, saturation.Shape]]] = {}
DELAY = "max_queue_delay_microseconds"


def shapes(server: Server, configs: Any = None) -> dict[str, saturation.Shape]:
    version = ("inventory", server.inventory_at) if configs is None else ("configs", configs)
    cached = _shapes.get(server.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    # Only the parts saturation.shape reads: decoding 50 whole configs was most of the cost.
    rows = ModelConfig.objects.filter(server_id=server.id).values_list(
        "name", "config__instance_group", f"config__dynamic_batching__{DELAY}"
    )
    found = {
        name: saturation.shape({"instance_group": groups, "dynamic_batching": {DELAY: delay}})
        for name, groups, delay in rows
    }
    _shapes[server.id] = (version, found)
    return found


def after_scrape(
    server: Server,
    status: str,
    values: Sequence[Derived],
    at: datetime,
    since: datetime | None,
    error: str = "",
    figures: Mapping[str, ModelFigures] | None = None,
) -> own_stats.Saturation | None:
    """Evaluate the rules watching `server` on this scrape's values (and its per-model
    `figures`, fleet.services.Live's, computed here when not given). Returns the models'
    saturation figures for the caller to record with the scrape's own
    (fleet.own_stats.record_scrape): {} for a server down, None when nothing is known.
    Never raises: an alerting bug must not cost the fleet its metrics."""
    if status == Server.Status.UNKNOWN:
        return None  # Prometheus did not answer: nothing is known of the servers
    try:
        # First: its one round trip also says whether the configs behind the busy ratio changed.
        watched: rules.Watched | None = rules.watching_with_open(server, SCRAPE_KINDS)
    except Exception:
        log.exception("alert evaluation for %s failed", server.name)
        watched = None
    try:
        up = status == Server.Status.UP
        figures = (per_model(values) if up else {}) if figures is None else figures
        busy = _busy(server, values, figures, watched.configs if watched else None)
        export = {
            model: (busy[model][0], f.get("queue_us_per_request"), f.get("pending_requests"))
            for model, f in figures.items()
        }
    except Exception:
        log.exception("saturation figures for %s failed", server.name)
        return None
    try:
        if watched is not None:
            _after_scrape(server, watched, up, status, values, figures, busy, at, since, error)
    except Exception:
        log.exception("alert evaluation for %s failed", server.name)
    return export


def _busy(
    server: Server, values: Sequence[Derived], figures: Mapping[str, ModelFigures], configs: Any = None
) -> dict[str, tuple[float | None, int | None]]:
    """model -> (busy ratio, instance count), from the model's config (cached per server)."""
    if not figures:
        return {}
    known = shapes(server, configs)
    # The GPUs count only for KIND_GPU instances without a `gpus` list (a walk of the values).
    gpus = saturation.gpu_count(values) if any(s.per_gpu for s in known.values()) else 0
    busy: dict[str, tuple[float | None, int | None]] = {}
    for model, f in figures.items():
        shape = known.get(model)
        count = saturation.instances(shape, gpus) if shape else None
        busy[model] = (saturation.busy_ratio(f, shape, gpus), count)
    return busy


def _after_scrape(
    server: Server,
    watched: rules.Watched,
    up: bool,
    status: str,
    values: Sequence[Derived],
    figures: Mapping[str, ModelFigures],
    busy: dict[str, tuple[float | None, int | None]],
    at: datetime,
    since: datetime | None,
    error: str,
) -> None:
    watching, open_rows, configs = watched
    if not watching and not open_rows:
        return
    seen: list[Seen] = []
    load: causes.ServerLoad | None = None
    not_ready: dict[str, str] | None = None
    found_causes: dict[str, causes.Cause] = {}

    def queue_cause(model: str) -> causes.Cause:
        nonlocal load
        found = found_causes.get(model)
        if found is None:  # once per model, however many rules watch it
            load = load or _server_load(server, values)
            ratio, count = busy.get(model, (None, None))
            shape = shapes(server, configs).get(model)
            found = found_causes[model] = causes.queue_cause(model, figures[model], ratio, count, shape, load)
        return found

    def explain(model: str, threshold: float | None) -> Callable[[], tuple[str, dict[str, Any]]]:
        def text_and_detail() -> tuple[str, dict[str, Any]]:
            found = queue_cause(model)
            return found.text, {"code": found.code, "threshold_us": threshold, **found.detail}

        return text_and_detail

    # Each figure a threshold rule reads, largest first: a rule stops at its threshold.
    queues = _largest(figures, "queue_us_per_request")
    failures = _largest(figures, "failures_per_s")
    for rule in watching:
        if rule.kind == Kind.SERVER_DOWN and not up:
            seen.append(Seen(rule, cause=f"{status}: {error}"[:2000], detail={"error": error[:2000]}))
        elif rule.kind == Kind.SCRAPE_ERRORS and up and error:
            seen.append(Seen(rule, cause=error[:2000], detail={"error": error[:2000]}))
        elif rule.kind == Kind.QUEUE_TIME:
            for model, queue in above(queues, rule):
                seen.append(Seen(rule, model, queue, explain=explain(model, rule.threshold)))
        elif rule.kind == Kind.FAILURE_RATE:
            for model, rate in above(failures, rule):
                text = f"{rate:.3g} failures/s (threshold {rule.threshold:g})"
                seen.append(Seen(rule, model, rate, text, {"failures_per_s": rate}))
        elif rule.kind == Kind.MODEL_NOT_READY and up:
            not_ready = _not_ready(server) if not_ready is None else not_ready
            for model, reason in not_ready.items():
                if not rule.model or model == rule.model:
                    seen.append(Seen(rule, model, None, f"not READY: {reason}"[:2000], {"reason": reason}))
    changed = transition(server, seen, at, since or at, open_rows)
    notify.changed(changed)


class Ranked(NamedTuple):
    """One figure of every model: largest first (a rule stops at its threshold), and by model
    (a rule of one model looks it up)."""

    largest: list[tuple[str, float]]
    by_model: dict[str, float]


def _largest(figures: Mapping[str, ModelFigures], key: str) -> Ranked:
    found = {model: float(v) for model, f in figures.items() if isinstance(v := f.get(key), int | float)}
    return Ranked(sorted(found.items(), key=lambda pair: -pair[1]), found)


def above(ranked: Ranked, rule: rules.Watch) -> list[tuple[str, float]]:
    """The models whose figure is above the rule's threshold (its one model, if it has one)."""
    threshold = rule.threshold or 0.0
    if rule.model:
        value = ranked.by_model.get(rule.model)
        return [(rule.model, value)] if value is not None and value > threshold else []
    out = []
    for model, value in ranked.largest:
        if value <= threshold:
            break
        out.append((model, value))
    return out


def _server_load(server: Server, values: Sequence[Derived]) -> causes.ServerLoad:
    cpu = [v.value for v in values if not v.model and v.metric == "cpu_utilization"]
    gpus = {v.label: v.value for v in values if not v.model and v.metric == "gpu_utilization"}

    def in_progress() -> list[tuple[int, str, str]]:
        # Read at most once per scrape interval (a load lasts longer than that), for the
        # whole fleet at once: a queue that stays long would otherwise ask every scrape, and
        # with one read per server, a fleet whose queues stay long asked in most scrapes.
        global _actions
        now = time.monotonic()
        if _actions is None or now - _actions[0] >= settings.FLEET_SCRAPE_INTERVAL:
            kinds = [Action.Kind.LOAD, Action.Kind.UNLOAD]
            rows = Action.objects.filter(state__in=Action.ACTIVE_STATES, kind__in=kinds)
            found: dict[int, list[tuple[int, str, str]]] = {}
            for server_id, id_, kind, model in rows.order_by("id").values_list(
                "server_id", "id", "kind", "model"
            ):
                found.setdefault(server_id, []).append((id_, kind, model))
            _actions = (now, found)
        return _actions[1].get(server.id, [])

    return causes.ServerLoad(cpu[0] if cpu else None, gpus, in_progress)


def _not_ready(server: Server) -> dict[str, str]:
    """Models that should serve and have no READY version: those a deployment (not paused)
    puts on this server, and those Triton reports a failure (or a load under way) for."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for name, state, reason in ModelVersion.objects.filter(server_id=server.id).values_list(
        "name", "state", "reason"
    ):
        rows.setdefault(name, []).append((state, reason))
    deployed = DeploymentTarget.objects.filter(server_id=server.id, deployment__paused=False)
    out: dict[str, str] = {}
    for name, deployment in deployed.values_list("deployment__model", "deployment__name"):
        if name not in rows:
            out[name] = f"deployed by {deployment} but not in the repository index"
        elif not any(state == ModelVersion.State.READY for state, _ in rows[name]):
            shown = ", ".join(sorted({f"{s} {r}".strip() for s, r in rows[name]}))
            out[name] = f"deployed by {deployment}; Triton shows {shown}"
    for name, states in rows.items():
        if name in out or any(state == ModelVersion.State.READY for state, _ in states):
            continue
        bad = [f"{state} {reason}".strip() for state, reason in states if reason not in NOT_LOADED]
        if bad or any(state == ModelVersion.State.LOADING for state, _ in states):
            out[name] = "; ".join(bad) or "LOADING"
    return out


def stale_servers(now: datetime | None = None) -> int:
    """Beat's fan-out (fleet.tasks.dispatch_scrapes): a server still marked up whose last
    scrape is older than three intervals is stale (its scrapes expire unrun, or hang):
    `server_down` holds for it. Returns how many. One query when none is."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=STALE_INTERVALS * settings.FLEET_SCRAPE_INTERVAL)
    stale = list(Server.objects.filter(status=Server.Status.UP, last_scrape_at__lt=cutoff))
    gone: dict[int, own_stats.Saturation] = {}
    for server in stale:
        age = (now - server.last_scrape_at).total_seconds() if server.last_scrape_at else 0.0
        found = after_scrape(server, "stale", [], now, server.last_scrape_at, f"no scrape for {age:.0f} s")
        if found is not None:
            gone[server.id] = found  # {}: its figures are removed
    own_stats.record_saturation(gone)
    return len(stale)


def after_action(action_id: int) -> None:
    """An action ended: a failure fires `load_failed` for its model; a later success of an
    action on the same model resolves it. Never raises."""
    try:
        _after_action(action_id)
    except Exception:
        log.exception("alert evaluation for action %s failed", action_id)


def _after_action(action_id: int) -> None:
    action = Action.objects.select_related("server").filter(id=action_id).first()
    if action is None or action.state not in (Action.State.FAILED, Action.State.SUCCEEDED):
        return
    watching = [
        r
        for r in rules.watching(action.server, frozenset({Kind.LOAD_FAILED}))
        if not r.model or r.model == action.model
    ]
    key = target(action.server_id, action.model)
    open_rows = Alert.objects.filter(target=key, kind=Kind.LOAD_FAILED, state__in=Alert.OPEN_STATES)
    if action.state == Action.State.SUCCEEDED:
        now = timezone.now()
        ids = list(open_rows.values_list("id", flat=True))
        resolved = Alert.objects.filter(id__in=ids, state__in=Alert.OPEN_STATES)
        resolved.update(state=Alert.State.RESOLVED, resolved_at=now, updated_at=now)
        notify.changed(ids)
        return
    when = action.finished_at or timezone.now()
    cause = f"{action.kind} of {action.model} failed: {action.error}"[:2000]
    detail = {"action_id": action.id, "action_kind": action.kind, "error": action.error[:2000]}
    fresh: list[Seen] = []
    for rule in watching:
        # A later failure while the alert is open: the alert names the latest one.
        if not open_rows.filter(rule_id=rule.id).update(cause=cause, detail=detail, updated_at=when):
            rule.for_s = 0.0  # fired at once, whatever the rule's `for`: a failure does not last
            fresh.append(Seen(rule, action.model, None, cause, detail))
    notify.changed(transition(action.server, fresh, when, when, {}))
