"""The record of an action as the world sees it, and its state changes.

`serialize` builds the one wire format (`ActionRecord`); `publish` broadcasts it as
`fleet.action` to the server's group and the fleet group; `finish` ends a row (once) and
publishes it.
"""

from __future__ import annotations

import logging
import statistics
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.db.models import Q
from django.utils import timezone

from ..alerting import evaluate
from ..broadcast import FLEET_GROUP, broadcast, model_group, server_group
from ..frames import iso
from ..models import Action
from .ended import signal

log = logging.getLogger(__name__)


class ActionRecord(TypedDict):
    """The one wire format of an action: the API's answer, the `fleet.action` websocket
    frame (with "type" added) and the pages' seed are this, built by `serialize` alone."""

    id: int
    kind: str
    state: str
    server: int  # the server's id
    server_name: str
    model: str
    parameters: dict[str, Any]
    requested_by: str | None  # username
    requested_at: str | None  # ISO 8601, UTC ("Z")
    started_at: str | None
    finished_at: str | None
    elapsed_s: float | None  # since it started, to its end once ended; null while queued
    estimate_s: float | None  # while active: median of the model's past load durations
    load_duration_s: float | None
    result: str
    error: str


def elapsed_s(action: Action, now: datetime | None = None) -> float | None:
    """Seconds since the action started (to its end once finished); None while queued."""
    if action.started_at is None:
        return None
    end = action.finished_at or now or timezone.now()
    return round((end - action.started_at).total_seconds(), 3)


def estimate_s(action: Action) -> float | None:
    """For a queued or running action: the median load duration of the model's last ten
    successful loads on this server, else on any server; None when it was never loaded
    through FleetDeck, and for an action that has ended."""
    if not action.active:
        return None
    done = Action.objects.filter(
        model=action.model,
        state=Action.State.SUCCEEDED,
        load_duration_s__isnull=False,
        kind__in=[Action.Kind.LOAD, Action.Kind.PROMOTE, Action.Kind.ROLLBACK],
    )
    for scope in (done.filter(server_id=action.server_id), done):
        durations = list(scope.order_by("-finished_at").values_list("load_duration_s", flat=True)[:10])
        if durations:
            return round(statistics.median(d for d in durations if d is not None), 3)
    return None


def serialize(action: Action) -> ActionRecord:
    """The action as API, websocket frames and page seeds carry it (select_related
    "server" and "requested_by" when serializing many)."""
    return {
        "id": action.id,
        "kind": action.kind,
        "state": action.state,
        "server": action.server_id,
        "server_name": action.server.name,
        "model": action.model,
        "parameters": action.parameters,
        "requested_by": action.requested_by.username if action.requested_by else None,
        "requested_at": iso(action.requested_at),
        "started_at": iso(action.started_at),
        "finished_at": iso(action.finished_at),
        "elapsed_s": elapsed_s(action),
        "estimate_s": estimate_s(action),
        "load_duration_s": action.load_duration_s,
        "result": action.result,
        "error": action.error,
    }


def recent(
    server_id: int | None = None,
    model: str | None = None,
    limit: int = 6,
    within: timedelta = timedelta(hours=1),
) -> list[ActionRecord]:
    """The newest actions of the last `within` plus any still active (optionally of one
    server, or one model on it), as broadcast: what a page shows when it opens."""
    fresh = Q(requested_at__gte=timezone.now() - within) | Q(state__in=Action.ACTIVE_STATES)
    rows = Action.objects.select_related("server", "requested_by").filter(fresh).order_by("-requested_at")
    if server_id is not None:
        rows = rows.filter(server_id=server_id)
    if model is not None:
        rows = rows.filter(model=model)
    return [serialize(action) for action in rows[:limit]]


def publish(action_id: int) -> None:
    """Broadcast the action's current row to its server's page, its model's pages and the
    fleet overview."""
    action = Action.objects.select_related("server", "requested_by").filter(id=action_id).first()
    if action is not None:
        groups = [server_group(action.server_id), model_group(action.model), FLEET_GROUP]
        broadcast(groups, "fleet.action", dict(serialize(action)))


def finish(
    action_id: int,
    state: str,
    *,
    result: str = "",
    error: str = "",
    load_duration_s: float | None = None,
    parameters: dict[str, Any] | None = None,
    from_states: list[str] | None = None,
    heartbeat_before: datetime | None = None,
) -> bool:
    """End the action unless someone else already did; broadcast it. Returns whether we did."""
    rows = Action.objects.filter(id=action_id, state__in=from_states or [Action.State.RUNNING])
    if heartbeat_before is not None:
        rows = rows.filter(heartbeat_at__lt=heartbeat_before)
    changes: dict[str, Any] = {
        "state": state,
        "finished_at": timezone.now(),
        "result": result[:10000],
        "error": error[:10000],
        "load_duration_s": load_duration_s,
    }
    if parameters:
        current = Action.objects.filter(id=action_id).values_list("parameters", flat=True).first() or {}
        changes["parameters"] = {**current, **parameters}
    ended = rows.update(**changes) == 1
    if ended:
        signal(action_id)  # its waiters read the row now (fleet/control/ended.py)
        log.info("action %s %s %s", action_id, state, error or result)
        publish(action_id)
        evaluate.after_action(action_id)  # load_failed fires or resolves
    else:
        log.warning("action %s was already ended elsewhere; dropping %s", action_id, state)
    return ended
