"""Control actions: load, unload, promote and roll back a model on one server.

Flow: `request_action` validates, logs and creates the Action row (the database allows one
queued or running action per (server, model)) and enqueues `fleet.tasks.run_action` on
commit. `run_action` claims the row atomically (queued → running), calls Triton through
`fleet.triton`, verifies the outcome in the repository index, and ends the row succeeded or
failed. `reconcile` (beat) ends actions whose worker died, from what Triton shows. Every
state change is broadcast as `fleet.action` to the server's group and the fleet group.

Promotion never moves files: it reloads the model with its current config and a
`version_policy` of `specific: [N]`; the policy and versions served before are kept on the
action so that a rollback restores them.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import services, triton
from .broadcast import FLEET_GROUP, broadcast, server_group
from .models import Action, ModelVersion, Server

log = logging.getLogger(__name__)

# Triton names a model after its directory; FleetDeck accepts only plain names so that a
# name can never reach outside the repository or change the meaning of a URL.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
# Index states in which a version occupies the server (serving or on its way in or out).
_PRESENT = {ModelVersion.State.READY, ModelVersion.State.LOADING, ModelVersion.State.UNLOADING}
_BUSY = {ModelVersion.State.LOADING, ModelVersion.State.UNLOADING}
_POLL_S = 0.1
WORKER_LOST = "worker lost"


# --------------------------------------------------------------------------- errors


class ActionError(Exception):
    """A request that cannot be accepted; the message is fit to show to the requester."""


class InvalidRequest(ActionError):
    """Bad input (a name, a version, nothing to roll back): HTTP 400."""


class UnknownModel(ActionError):
    """The model is not in the server's repository: HTTP 404."""


class ConfirmationRequired(ActionError):
    """Unloading a model that served traffic recently needs confirm=True: HTTP 409."""


class ActionInProgress(ActionError):
    """Another action on the same model is queued or running: HTTP 409."""

    def __init__(self, message: str, action: Action | None) -> None:
        super().__init__(message)
        self.action = action


class ActionFailed(Exception):
    """Raised inside run_action: the action ends failed with this text."""


# --------------------------------------------------------------------------- payload


class ActionPayload(TypedDict):
    """The `fleet.action` broadcast, also the shape the API serializes."""

    action_id: int
    kind: str
    state: str
    server_id: int
    server: str
    model: str
    parameters: dict[str, Any]
    requested_by: str | None
    requested_at: str | None
    started_at: str | None
    finished_at: str | None
    elapsed_s: float | None
    estimate_s: float | None
    load_duration_s: float | None
    result: str
    error: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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


def payload(action: Action) -> ActionPayload:
    server = action.server
    return {
        "action_id": action.id,
        "kind": action.kind,
        "state": action.state,
        "server_id": server.id,
        "server": server.name,
        "model": action.model,
        "parameters": action.parameters,
        "requested_by": action.requested_by.username if action.requested_by else None,
        "requested_at": _iso(action.requested_at),
        "started_at": _iso(action.started_at),
        "finished_at": _iso(action.finished_at),
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
) -> list[ActionPayload]:
    """The newest actions of the last `within` plus any still active (optionally of one
    server, or one model on it), as broadcast: what a page shows when it opens."""
    fresh = Q(requested_at__gte=timezone.now() - within) | Q(state__in=Action.ACTIVE_STATES)
    rows = Action.objects.select_related("server", "requested_by").filter(fresh).order_by("-requested_at")
    if server_id is not None:
        rows = rows.filter(server_id=server_id)
    if model is not None:
        rows = rows.filter(model=model)
    return [payload(action) for action in rows[:limit]]


def publish(action_id: int) -> None:
    """Broadcast the action's current row to its server's pages and the fleet overview."""
    action = Action.objects.select_related("server", "requested_by").filter(id=action_id).first()
    if action is not None:
        broadcast([server_group(action.server_id), FLEET_GROUP], "fleet.action", dict(payload(action)))


# --------------------------------------------------------------------------- requests


def is_plain_model_name(name: str) -> bool:
    return bool(_MODEL_NAME.fullmatch(name)) and ".." not in name


def model_in_repository(server: Server, name: str) -> bool:
    """Whether the model is in the server's repository index (read-only; safe before
    permission checks). A model added since the last inventory triggers one refresh."""
    if not is_plain_model_name(name):
        return False
    if ModelVersion.objects.filter(server=server, name=name).exists():
        return True
    services.refresh_inventory(server)
    return ModelVersion.objects.filter(server=server, name=name).exists()


def served_recently(server: Server, name: str) -> str:
    """Why unloading needs confirmation ("" when it does not): traffic within the window."""
    window = settings.FLEET_UNLOAD_CONFIRM_WINDOW
    try:
        last = triton.last_inference_at(server, name)
    except triton.TritonError as exc:
        if not ModelVersion.objects.filter(server=server, name=name, state=ModelVersion.State.READY).exists():
            return ""  # not loaded: no traffic to lose
        return f"its statistics could not be read ({exc}), so it may be serving traffic"
    if last is None:
        return ""
    ago = time.time() - last
    if ago <= window:
        return f"it served an inference {max(ago, 0):.0f} s ago"
    return ""


def last_promotion(server: Server, name: str) -> Action | None:
    return (
        Action.objects.filter(
            server=server,
            model=name,
            kind=Action.Kind.PROMOTE,
            state=Action.State.SUCCEEDED,
            parameters__has_key="previous_policy",
        )
        .order_by("-finished_at")
        .first()
    )


def request_action(
    server: Server,
    name: str,
    kind: str,
    user: Any,
    *,
    version: int | None = None,
    confirm: bool = False,
    unload_dependents: bool = False,
) -> Action:
    """Validate, log, record and enqueue one action; return the queued row.

    Callers (API, HTML form, CLI) check read-only mode and the user's role first. Raises
    InvalidRequest, UnknownModel, ConfirmationRequired or ActionInProgress before anything
    is enqueued.
    """
    if kind not in Action.Kind.values:
        raise InvalidRequest(f"unknown action {kind!r}")
    if not is_plain_model_name(name):
        raise InvalidRequest(f"{name!r} is not a plain model name")
    if not model_in_repository(server, name):
        raise UnknownModel(f"no model {name!r} in the repository of {server.name}")
    parameters: dict[str, Any] = {}
    if kind == Action.Kind.PROMOTE:
        if version is None or version < 1:
            raise InvalidRequest("promote needs a version: a positive integer")
        parameters["version"] = version
    elif kind == Action.Kind.ROLLBACK:
        promotion = last_promotion(server, name)
        if promotion is None:
            raise InvalidRequest(f"nothing to roll back: {name} was never promoted on {server.name}")
        parameters.update(
            promotion=promotion.id,
            version_policy=promotion.parameters["previous_policy"],
            versions=promotion.parameters.get("previous_versions", []),
        )
    elif kind == Action.Kind.UNLOAD:
        parameters["unload_dependents"] = unload_dependents
        if not confirm:
            why = served_recently(server, name)
            if why:
                raise ConfirmationRequired(f"{name} on {server.name}: {why}; confirm to unload it")
        parameters["confirmed"] = confirm

    username = getattr(user, "username", None) or "-"
    log.info("control request: %s asks to %s %s on %s %s", username, kind, name, server.name, parameters)
    try:
        with transaction.atomic():
            action = Action.objects.create(
                kind=kind,
                server=server,
                model=name,
                parameters=parameters,
                requested_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError:
        active = Action.objects.filter(server=server, model=name, state__in=Action.ACTIVE_STATES).first()
        if active is None:  # it ended between our insert and this read
            raise ActionInProgress(f"another action on {name} just ended; try again", None) from None
        who = active.requested_by.username if active.requested_by else "-"
        raise ActionInProgress(
            f"action #{active.id} ({active.kind} {name}, {active.state}, requested by {who}) "
            f"is in progress on {server.name}",
            active,
        ) from None
    transaction.on_commit(lambda: _enqueue(action.id))
    return action


def _enqueue(action_id: int) -> None:
    from . import tasks  # tasks import this module

    try:
        tasks.run_action.delay(action_id)
    except Exception as exc:  # broker down: free the model instead of leaving it queued
        log.exception("could not enqueue action %s", action_id)
        _finish(action_id, Action.State.FAILED, error=f"could not enqueue: {exc}", from_states=["queued"])
        return
    publish(action_id)


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    result: str
    load_duration_s: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def run_action(action_id: int) -> None:
    """Run a queued action once. A second call, or a call for an action that is no longer
    queued (run elsewhere, reconciled, redelivered after a crash), does nothing."""
    now = timezone.now()
    claimed = Action.objects.filter(id=action_id, state=Action.State.QUEUED).update(
        state=Action.State.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        log.info("action %s is not queued: nothing to do", action_id)
        return
    action = Action.objects.select_related("server").get(id=action_id)
    publish(action_id)
    try:
        with _heartbeat(action_id):
            outcome = _perform(action)
    except (ActionFailed, triton.TritonError) as exc:
        _refresh(action.server)
        _finish(action_id, Action.State.FAILED, error=str(exc))
    except Exception as exc:  # includes Celery's SoftTimeLimitExceeded: never leave it running
        log.exception("action %s crashed", action_id)
        _finish(action_id, Action.State.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        _refresh(action.server)
        _finish(
            action_id,
            Action.State.SUCCEEDED,
            result=outcome.result,
            load_duration_s=outcome.load_duration_s,
            parameters=outcome.parameters,
        )


def _refresh(server: Server) -> None:
    # The dashboard's mirror of the index is current when the page hears the action ended.
    services.refresh_inventory(server)


def _finish(
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
        log.info("action %s %s %s", action_id, state, error or result)
        publish(action_id)
    else:
        log.warning("action %s was already ended elsewhere; dropping %s", action_id, state)
    return ended


@contextmanager
def _heartbeat(action_id: int) -> Iterator[None]:
    """Renew the action's lease (and broadcast its elapsed time) while the block runs.

    Triton's load call blocks for as long as the load takes, so the lease is renewed from
    a thread; a worker that dies stops renewing it, which is how reconcile() tells a lost
    action from a long load.
    """
    stop = threading.Event()
    every = max(settings.FLEET_ACTION_LEASE / 3, 0.2)

    def beat() -> None:
        try:
            while not stop.wait(every):
                Action.objects.filter(id=action_id, state=Action.State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
                publish(action_id)
        except Exception:
            log.exception("heartbeat of action %s failed", action_id)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"action-{action_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _perform(action: Action) -> Outcome:
    server, name = action.server, action.model
    if action.kind == Action.Kind.LOAD:
        duration = triton.load_model(server, name)
        rows = _wait_for(server, name, lambda r: bool(_ready(r)) and not _busy(r), "a READY version")
        return Outcome(f"loaded in {duration:.2f} s; READY versions {_ready(rows)}", duration)
    if action.kind == Action.Kind.UNLOAD:
        dependents = bool(action.parameters.get("unload_dependents"))
        triton.unload_model(server, name, unload_dependents=dependents)
        _wait_for(server, name, lambda r: not _present(r), "no version loaded")
        return Outcome(f"unloaded{' with its dependents' if dependents else ''}")
    if action.kind == Action.Kind.PROMOTE:
        version = int(action.parameters["version"])
        return _change_policy(action, {"specific": {"versions": [version]}}, [str(version)])
    policy = dict(action.parameters["version_policy"])
    return _change_policy(action, policy, [str(v) for v in action.parameters.get("versions", [])])


def _change_policy(action: Action, policy: dict[str, Any], expected: list[str]) -> Outcome:
    """Reload the model with its current config and another version policy, then verify
    through the index that exactly `expected` versions serve (any READY set if empty)."""
    server, name = action.server, action.model
    try:
        config = triton.model_config(server, name)
    except triton.TritonError as exc:
        raise ActionFailed(f"cannot read the config of {name} (is it loaded?): {exc}") from exc
    before = sorted(_ready(_rows(server, name)))
    previous_policy = config.get("version_policy") or {"latest": {"num_versions": 1}}
    noted = {"previous_policy": previous_policy, "previous_versions": before}
    # Noted before loading, so the record says what served even if the load fails.
    Action.objects.filter(id=action.id).update(parameters={**action.parameters, **noted})
    target = {**config, "version_policy": policy}
    if server.reload_strategy == Server.ReloadStrategy.UNLOAD_FIRST:
        triton.unload_model(server, name)
        _wait_for(server, name, lambda r: not _present(r), "the old versions unloaded")
        try:
            duration = triton.load_model(server, name, config=target)
        except triton.TritonError as exc:
            raise ActionFailed(f"{exc}{_restore(server, name, config)}") from exc
    else:
        duration = triton.load_model(server, name, config=target)
    want = set(expected)

    def served(rows: list[dict[str, Any]]) -> bool:
        ready = _ready(rows)
        return bool(ready) and (not want or ready == want) and not _busy(rows)

    rows = _wait_for(server, name, served, f"versions {sorted(want)} READY and no other")
    return Outcome(
        f"loaded in {duration:.2f} s with version_policy {policy}; READY versions {_ready(rows)}"
        f" (before: {before})",
        duration,
        noted,
    )


def _restore(server: Server, name: str, config: dict[str, Any]) -> str:
    """After unload-then-load failed: load the previous config again, best effort."""
    try:
        triton.load_model(server, name, config=config)
    except triton.TritonError as exc:
        return f"; restoring the previous versions failed too: {exc}"
    return "; the previous versions were loaded again"


def _rows(server: Server, name: str) -> list[dict[str, Any]]:
    return [row for row in triton.repository_index(server) if row.get("name") == name]


def _ready(rows: list[dict[str, Any]]) -> set[str]:
    return {str(r.get("version", "")) for r in rows if r.get("state") == ModelVersion.State.READY}


def _present(rows: list[dict[str, Any]]) -> bool:
    return any(r.get("state") in _PRESENT for r in rows)


def _busy(rows: list[dict[str, Any]]) -> bool:
    return any(r.get("state") in _BUSY for r in rows)


def _describe(rows: list[dict[str, Any]]) -> str:
    parts = [
        f"v{r.get('version', '-')} {r.get('state', 'not loaded')} {r.get('reason', '')}".strip() for r in rows
    ]
    return ", ".join(parts) or "absent"


def _wait_for(
    server: Server, name: str, done: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    """Poll the repository index until done(rows of this model); ActionFailed on timeout."""
    deadline = time.monotonic() + settings.FLEET_VERIFY_TIMEOUT
    while True:
        rows = _rows(server, name)
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            raise ActionFailed(f"Triton answered, but the index never showed {what}: {_describe(rows)}")
        time.sleep(_POLL_S)


# --------------------------------------------------------------------------- reconcile


def reconcile(now: datetime | None = None) -> int:
    """End actions nobody is running any more; return how many were ended.

    A running action whose heartbeat is older than FLEET_ACTION_LEASE lost its worker: it
    ends succeeded or failed by what Triton's index shows ("worker lost" in its text). One
    that Triton is still loading or unloading waits for the next round. A queued action no
    worker took within FLEET_ACTION_QUEUE_TIMEOUT is failed.
    """
    close_old_connections()
    now = now or timezone.now()
    ended = 0
    stale = now - timedelta(seconds=settings.FLEET_ACTION_LEASE)
    for action in Action.objects.select_related("server").filter(
        state=Action.State.RUNNING, heartbeat_at__lt=stale
    ):
        ended += _reconcile_lost(action, stale)
    queue_cutoff = now - timedelta(seconds=settings.FLEET_ACTION_QUEUE_TIMEOUT)
    for action_id in Action.objects.filter(
        state=Action.State.QUEUED, requested_at__lt=queue_cutoff
    ).values_list("id", flat=True):
        ended += _finish(
            action_id,
            Action.State.FAILED,
            error=f"not started within {settings.FLEET_ACTION_QUEUE_TIMEOUT:.0f} s: is a worker running?",
            from_states=[Action.State.QUEUED],
        )
    return ended


def _reconcile_lost(action: Action, stale: datetime) -> bool:
    server, name = action.server, action.model
    try:
        rows = _rows(server, name)
    except triton.TritonError as exc:
        return _finish(
            action.id,
            Action.State.FAILED,
            error=f"{WORKER_LOST}; Triton could not be asked: {exc}",
            heartbeat_before=stale,
        )
    if _busy(rows):
        return False  # Triton is still at it; look again next round
    ready = _ready(rows)
    if action.kind == Action.Kind.LOAD:
        ok = bool(ready)
    elif action.kind == Action.Kind.UNLOAD:
        ok = not ready
    elif action.kind == Action.Kind.PROMOTE:
        ok = ready == {str(action.parameters.get("version"))}
    else:
        want = {str(v) for v in action.parameters.get("versions", [])}
        ok = bool(ready) and (not want or ready == want)
    text = f"{WORKER_LOST}; Triton shows {_describe(rows)}"
    _refresh(server)
    if ok:
        return _finish(action.id, Action.State.SUCCEEDED, result=text, heartbeat_before=stale)
    return _finish(action.id, Action.State.FAILED, error=text, heartbeat_before=stale)
