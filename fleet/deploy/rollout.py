"""A change of a deployment's versions, rolled out in waves; the state machine is the row.

Waves: a canary (gates' `canary`, 1 server), then the rest in batches of `max_unavailable`
(a fraction of the servers, or a count when >= 1). Each wave goes pending → loading (one
load action per server, requested by the reconciler through the control path) → baking
(smoke gate passed; the metrics gate runs when the bake window ends) → passed. A failed
load or gate, an abort, or a rollout older than FLEET_DEPLOY_ROLLOUT_MAX_AGE starts the
undo: every server touched gets the previous versions back through load actions, the
deployment's versions go back too, and the rollout ends rolled_back, aborted or (an undo
that failed) failed, with the evidence in its gates and `error`.

`advance` does one step under the row's lock and sends itself again while the rollout
runs. A worker killed mid-rollout leaves a stale heartbeat: beat's reconcile takes the
rollout up again (`take_up_stale`), and the step goes on from the state stored here; the
actions it waits for are ended by the actions' own reconcile.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from ..control.errors import ActionError, ActionInProgress, InvalidRequest, ReadOnly
from ..control.requests import request_action
from ..models import Action, Deployment, Rollout, Server
from . import gates, record, selector, spec
from .reconcile import reconciler_user

log = logging.getLogger(__name__)

ADVANCE_TASK = "fleet.tasks.advance_rollout"
RECONCILE_TASK = "fleet.tasks.reconcile_deployment"
State = Rollout.State


class RolloutInProgress(ActionInProgress):
    """A second rollout of one deployment: HTTP 409."""


def plan(servers: list[Server], thresholds: dict[str, float]) -> list[dict[str, Any]]:
    ids = [s.id for s in servers]
    canary = max(int(thresholds["canary"]), 1)
    share = thresholds["max_unavailable"]
    batch = int(share) if share >= 1 else max(math.floor(share * len(ids)), 1)
    groups = [ids[:canary]] + [ids[i : i + batch] for i in range(canary, len(ids), batch)]
    return [{"servers": g, "state": "pending", "actions": {}, "gates": []} for g in groups if g]


def _event(rollout: Rollout, text: str) -> None:
    rollout.timeline = [*rollout.timeline, {"at": record.iso(timezone.now()), "text": text}]
    log.info("rollout %s: %s", rollout.id, text)


def send(rollout_id: int, countdown: float = 0.0) -> None:
    try:
        current_app.signature(ADVANCE_TASK, args=(rollout_id,)).apply_async(countdown=countdown)
    except Exception:  # the broker is down: beat's reconcile takes the rollout up later
        log.exception("could not send rollout %s on", rollout_id)


def start(deployment: Deployment, versions: list[int] | str, user: Any) -> Rollout | None:
    """Change the versions and start their rollout; None when nothing is to roll."""
    if settings.FLEET_READ_ONLY:
        raise ReadOnly("FleetDeck is read-only (FLEET_READ_ONLY): no rollout can start.")
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(id=deployment.id)
        active = deployment.rollouts.filter(state__in=Rollout.ACTIVE_STATES).first()
        if active is not None:
            raise RolloutInProgress(f"rollout #{active.id} of {deployment.name} is {active.state}", None)
        previous = deployment.versions
        if versions == previous:
            return None
        servers = selector.servers_of(deployment)
        if not servers:
            raise InvalidRequest(f"selector {deployment.selector} matches no server")
        spec.change(deployment, {"versions": versions}, user)
        waves = plan(servers, spec.gates_of(deployment))
        try:
            with transaction.atomic():
                rollout = Rollout.objects.create(
                    deployment=deployment,
                    from_versions=previous,
                    to_versions=versions,
                    waves=waves,
                    requested_by=user if getattr(user, "pk", None) else None,
                    heartbeat_at=timezone.now(),
                )
        except IntegrityError:
            raise RolloutInProgress(f"another rollout of {deployment.name} just started", None) from None
        who = getattr(user, "username", "") or "-"
        _event(
            rollout,
            f"{who} changed versions {previous} → {versions}: {len(waves)} waves over {len(servers)} servers",
        )
        rollout.save(update_fields=["timeline"])
        transaction.on_commit(lambda: send(rollout.id))
    return rollout


def advance(rollout_id: int) -> None:
    """One step; safe to run twice and from any worker."""
    close_old_connections()
    with transaction.atomic():
        rollout = (
            Rollout.objects.select_for_update(skip_locked=True)
            .select_related("deployment")
            .filter(id=rollout_id)
            .first()
        )
        if rollout is None or rollout.state != State.RUNNING:
            return  # another step holds it, or it does not run
        now = timezone.now()
        rollout.heartbeat_at = now
        before = _shown(rollout)
        age = (now - rollout.created_at).total_seconds()
        if not rollout.undo and age > settings.FLEET_DEPLOY_ROLLOUT_MAX_AGE:
            _begin_undo(
                rollout, f"still running after {age:.0f} s (FLEET_DEPLOY_ROLLOUT_MAX_AGE)", State.FAILED
            )
        try:
            if rollout.undo:
                _step_undo(rollout)
            else:
                _step_wave(rollout)
        except Exception as exc:  # a bug or a lost server: undo, never run for ever
            log.exception("rollout %s step failed", rollout_id)
            if rollout.undo:
                _end(rollout, State.FAILED, f"the rollback stopped: {type(exc).__name__}: {exc}")
            else:
                _begin_undo(rollout, f"{type(exc).__name__}: {exc}", State.FAILED)
        rollout.save()
        running = rollout.state == State.RUNNING
        delay = _next_step_in(rollout)
    if _shown(rollout) != before:  # most steps only look at loads still under way
        record.publish_rollout(rollout_id)
        record.publish_deployment(rollout.deployment_id)
    if running:
        send(rollout_id, delay)
    else:
        current_app.signature(RECONCILE_TASK, args=(rollout.deployment_id,)).delay()


def _shown(rollout: Rollout) -> str:
    """What the rollout's frame carries that a step may change."""
    parts = [rollout.state, rollout.wave, rollout.waves, rollout.undo, len(rollout.timeline), rollout.error]
    return json.dumps(parts, sort_keys=True, default=str)


def _next_step_in(rollout: Rollout) -> float:
    """A baking wave's next step is when its bake ends; otherwise a poll interval."""
    poll = float(settings.FLEET_DEPLOY_ROLLOUT_POLL)
    wave = rollout.waves[rollout.wave] if not rollout.undo and rollout.wave < len(rollout.waves) else {}
    if wave.get("state") == "baking":
        return max(wave["bake_until"] - timezone.now().timestamp(), 0.0) + 0.01
    return poll


def _servers(ids: list[int]) -> dict[int, Server]:
    return {s.id: s for s in Server.objects.filter(id__in=ids)}


def _request(rollout: Rollout, server: Server, versions: list[int] | str, why: str) -> Action:
    deployment = rollout.deployment
    extra = {
        "version_policy": spec.policy(versions),
        "versions": spec.expected(versions),
        "config_overrides": deployment.config or {},
        "deployment": deployment.id,
        "rollout": rollout.id,
        "reason": f"rollout #{rollout.id} of {deployment.name}: {why}",
    }
    return request_action(server, deployment.model, Action.Kind.LOAD, reconciler_user(), extra=extra)


def _smoke_version(versions: list[int] | str) -> str:
    return "" if versions == spec.LATEST else str(max(versions))


def _step_wave(rollout: Rollout) -> None:
    wave = rollout.waves[rollout.wave]
    servers = _servers(wave["servers"])
    deployment = rollout.deployment
    thresholds = spec.gates_of(deployment)
    new = set(spec.expected(rollout.to_versions)) or None
    if wave["state"] == "pending":
        old = set(spec.expected(rollout.from_versions)) or None
        wave["baseline"] = {}
        for sid, server in servers.items():
            try:
                wave["baseline"][str(sid)] = gates.counts(server, deployment.model, old)
            except Exception as exc:  # no baseline: the queue gate has nothing to compare
                log.info("no baseline on %s: %s", server.name, exc)
            if str(sid) in wave["actions"]:
                continue
            try:
                action = _request(rollout, server, rollout.to_versions, f"wave {rollout.wave + 1}")
            except ActionInProgress:
                return  # someone else's action on the model: next step
            except ActionError as exc:
                wave["gates"].append(gates.gate("load", server, False, error=str(exc)))
                wave["state"] = "failed"
                return _begin_undo(
                    rollout, f"wave {rollout.wave + 1}: {server.name}: {exc}", State.ROLLED_BACK
                )
            wave["actions"][str(sid)] = action.id
        wave["state"] = "loading"
        names = ", ".join(s.name for s in servers.values())
        _event(
            rollout, f"wave {rollout.wave + 1}{' (canary)' if rollout.wave == 0 else ''}: loading on {names}"
        )
        return
    if wave["state"] == "loading":
        actions = {a.id: a for a in Action.objects.filter(id__in=wave["actions"].values())}
        if any(a.active for a in actions.values()):
            return
        for sid, action_id in wave["actions"].items():
            action = actions[action_id]
            wave["gates"].append(
                gates.gate(
                    "load",
                    servers[int(sid)],
                    action.state == Action.State.SUCCEEDED,
                    action=action_id,
                    result=action.result,
                    error=action.error,
                )
            )
        if any(not g["passed"] for g in wave["gates"]):
            wave["state"] = "failed"
            bad = next(g for g in wave["gates"] if not g["passed"])
            return _begin_undo(
                rollout,
                f"the load failed on {bad['server_name']}: {bad['detail']['error']}",
                State.ROLLED_BACK,
            )
        version = _smoke_version(rollout.to_versions)
        smoked = [gates.smoke(server, deployment, version) for server in servers.values()]
        wave["gates"].extend(smoked)
        failed = [g for g in smoked if not g["passed"]]
        if failed:
            wave["state"] = "failed"
            why = failed[0]["detail"].get("error")
            where = f"smoke failed on {failed[0]['server_name']}{': ' + why if why else ''}"
            return _begin_undo(rollout, where, State.ROLLED_BACK)
        wave["start"] = {str(sid): gates.counts(s, deployment.model, new) for sid, s in servers.items()}
        wave["bake_until"] = (timezone.now() + timedelta(seconds=thresholds["bake_s"])).timestamp()
        wave["state"] = "baking"
        _event(rollout, f"wave {rollout.wave + 1}: smoke passed; baking {thresholds['bake_s']:g} s")
        return
    if wave["state"] == "baking":
        if timezone.now().timestamp() < wave["bake_until"]:
            return
        checked = []
        for sid, server in servers.items():
            end = gates.counts(server, deployment.model, new)
            base = wave.get("baseline", {}).get(str(sid))
            checked.append(
                gates.metrics(server, thresholds, base, wave["start"][str(sid)], end, thresholds["bake_s"])
            )
        wave["gates"].extend(checked)
        failed = [g for g in checked if not g["passed"]]
        if failed:
            wave["state"] = "failed"
            why = "; ".join(failed[0]["detail"]["reasons"])
            return _begin_undo(
                rollout, f"metrics gate failed on {failed[0]['server_name']}: {why}", State.ROLLED_BACK
            )
        wave["state"] = "passed"
        _event(rollout, f"wave {rollout.wave + 1}: passed")
        if rollout.wave + 1 >= len(rollout.waves):
            return _end(rollout, State.SUCCEEDED, "")
        rollout.wave += 1
        return _step_wave(rollout)  # the next wave's loads at once, not a poll later


def _touched(rollout: Rollout) -> list[int]:
    return [int(sid) for wave in rollout.waves[: rollout.wave + 1] for sid in wave.get("actions", {})]


def _begin_undo(rollout: Rollout, reason: str, end: str) -> None:
    rollout.error = reason
    rollout.undo = {"end": end, "actions": {}, "servers": _touched(rollout)}
    for wave in rollout.waves[: rollout.wave + 1]:
        if wave["state"] in ("loading", "baking", "passed"):
            wave["state"] = "rolling_back"
    deployment = rollout.deployment
    spec.change(deployment, {"versions": rollout.from_versions}, reconciler_user(), kind="rolled_back")
    _event(rollout, f"rolling back ({reason}) on {len(rollout.undo['servers'])} servers")


def _step_undo(rollout: Rollout) -> None:
    undo = rollout.undo
    servers = _servers(undo["servers"])
    for sid, server in servers.items():
        if str(sid) in undo["actions"]:
            continue
        try:
            action = _request(rollout, server, rollout.from_versions, "rollback")
        except ActionInProgress:
            continue  # the wave's own load still runs: after it ends
        except ActionError as exc:
            undo["actions"][str(sid)] = None
            undo.setdefault("errors", {})[str(sid)] = str(exc)
            continue
        undo["actions"][str(sid)] = action.id
    if len(undo["actions"]) < len(servers):
        return
    ids = [i for i in undo["actions"].values() if i is not None]
    actions = list(Action.objects.filter(id__in=ids).select_related("server"))
    if any(a.active for a in actions):
        return
    failed = [f"{a.server.name}: {a.error}" for a in actions if a.state != Action.State.SUCCEEDED]
    failed += [f"server {sid}: {e}" for sid, e in undo.get("errors", {}).items()]
    if failed:
        _end(rollout, State.FAILED, f"{rollout.error}; the rollback failed on {'; '.join(failed)}")
    else:
        _end(rollout, undo["end"], rollout.error)


def _end(rollout: Rollout, state: str, error: str) -> None:
    rollout.state = state
    for wave in rollout.waves:
        if wave["state"] == "rolling_back":
            wave["state"] = "rolled_back" if state != State.FAILED else "failed"
    rollout.error = error
    rollout.ended_at = timezone.now()
    _event(rollout, f"ended {state}{': ' + error if error else ''}")


def control(rollout: Rollout, verb: str, user: Any) -> Rollout:
    """pause, resume or abort (abort rolls back what was touched)."""
    who = getattr(user, "username", "") or "-"
    with transaction.atomic():
        rollout = Rollout.objects.select_for_update().select_related("deployment").get(id=rollout.id)
        if rollout.state not in Rollout.ACTIVE_STATES:
            raise InvalidRequest(f"rollout #{rollout.id} has ended ({rollout.state})")
        if verb == "pause":
            if rollout.undo:
                raise InvalidRequest("a rollback under way cannot be paused")
            rollout.state = State.PAUSED
        elif verb == "resume":
            rollout.state = State.RUNNING
        elif verb == "abort":
            if not rollout.undo:
                _begin_undo(rollout, f"aborted by {who}", State.ABORTED)
            rollout.state = State.RUNNING
        else:
            raise InvalidRequest(f"unknown verb {verb!r}")
        _event(rollout, f"{verb} by {who}")
        rollout.heartbeat_at = timezone.now()
        rollout.save()
        if rollout.state == State.RUNNING:
            transaction.on_commit(lambda: send(rollout.id))
    record.publish_rollout(rollout.id)
    return rollout


def take_up_stale() -> int:
    """Send on every running rollout no step touched for FLEET_DEPLOY_ROLLOUT_LEASE."""
    stale = timezone.now() - timedelta(seconds=settings.FLEET_DEPLOY_ROLLOUT_LEASE)
    ids = list(
        Rollout.objects.filter(state=State.RUNNING, heartbeat_at__lt=stale).values_list("id", flat=True)
    )
    for rollout_id in ids:
        log.warning(
            "rollout %s: no step for %.0f s; taking it up", rollout_id, settings.FLEET_DEPLOY_ROLLOUT_LEASE
        )
        send(rollout_id)
    return len(ids)
