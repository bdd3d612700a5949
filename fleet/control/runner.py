"""Running an action, and reconciling the ones nobody runs any more.

`run_action` claims the row atomically (queued → running), calls Triton through
`fleet.triton`, verifies the outcome in the repository index, and ends the row succeeded
or failed. `reconcile` (beat) ends actions whose worker died, from what Triton shows.

Promotion never moves files: it reloads the model with its current config and a
`version_policy` of `specific: [N]`; the policy and versions served before are kept on the
action so that a rollback restores them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery import current_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .. import services, triton
from ..models import Action, Server
from . import broker, converge, evict, footprint, requests, settle, verify
from .errors import ActionFailed
from .record import finish, publish
from .verify import Rows, busy, describe, present, ready

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost"


@dataclass
class Outcome:
    result: str
    load_duration_s: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    # The memory gauge before a load, to measure the model's footprint (fleet/control/footprint.py).
    before: footprint.Sample | None = None


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
    try:
        with _heartbeat(action_id):
            try:
                outcome = _perform(action)
            except (ActionFailed, triton.TritonError) as exc:
                # Triton may go on after our call gave up: see fleet/control/settle.py.
                outcome = Outcome(settle.after_failure(action, str(exc)))
    except SoftTimeLimitExceeded:
        # Seconds before the hard kill: no time to wait for Triton here. The row stays
        # running (its lock held) and reconcile ends it from what the index shows.
        limit = getattr(current_task, "soft_time_limit", None)
        settle.mark_waiting(action_id, f"the task reached its soft time limit ({limit or '?'} s)")
    except (ActionFailed, triton.TritonError) as exc:
        _refresh(action.server)
        finish(action_id, Action.State.FAILED, error=str(exc))
    except Exception as exc:  # a bug or a lost database: never leave it running
        log.exception("action %s crashed", action_id)
        finish(action_id, Action.State.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        if action.parameters.get("evicted_for"):
            # An eviction: its load (next, in this or another worker) waits for this row to
            # end and refreshes the whole inventory after it loaded; the index alone keeps
            # the READY answer true meanwhile (fleet/autopilot/ensure.py reads it).
            services.refresh_index(action.server)
        else:
            _refresh(action.server)
        finish(
            action_id,
            Action.State.SUCCEEDED,
            result=outcome.result,
            load_duration_s=outcome.load_duration_s,
            parameters=outcome.parameters,
        )
        if outcome.before is not None:
            _measure(action_id, outcome)


def _measure(action_id: int, outcome: Outcome) -> None:
    # After the row ended: the model is READY for its callers while the gauge catches up.
    assert outcome.before is not None
    try:
        footprint.after(action_id, outcome.before, outcome.load_duration_s)
    except Exception:  # a measurement is never worth failing a finished action
        log.exception("measuring the footprint of action %s failed", action_id)


def _refresh(server: Server) -> None:
    # The dashboard's mirror of the index is current when the page hears the action ended.
    services.refresh_inventory(server)


@contextmanager
def _heartbeat(action_id: int) -> Iterator[None]:
    """Broadcast the claimed row, then renew the action's lease (and broadcast its elapsed
    time) while the block runs.

    Triton's load call blocks for as long as the load takes, so the lease is renewed from
    a thread; a worker that dies stops renewing it, which is how reconcile() tells a lost
    action from a long load. The first broadcast is the thread's too: it took 15-25 ms
    before the call to Triton when the runner made it; the thread is joined before the row
    ends, so the running frame still comes before the ended one.
    """
    stop = threading.Event()
    every = max(settings.FLEET_ACTION_LEASE / 3, 0.2)

    def beat() -> None:
        try:
            try:
                publish(action_id)
            except Exception:
                log.exception("broadcasting the start of action %s failed", action_id)
                connection.close_if_unusable_or_obsolete()
            while not stop.wait(every):
                # One failed beat (a database hiccup, a failed publish) must not end the
                # heartbeat: reconcile would then take a running action for a lost one.
                try:
                    Action.objects.filter(id=action_id, state=Action.State.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                    publish(action_id)
                except Exception:
                    log.exception("heartbeat of action %s failed; beating on", action_id)
                    connection.close_if_unusable_or_obsolete()
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
    if converge.wants_policy(action):  # desired state's load: see fleet/control/converge.py
        text, duration = converge.run(action)
        return Outcome(text, duration)
    if action.kind == Action.Kind.LOAD and isinstance(action.parameters.get("config"), dict):
        # A config-override reload (the batching tuner, fleet/inside/batching.py): Triton
        # serves the old config until the new one is READY, and keeps it if the load fails.
        duration = triton.load_model(server, name, config=action.parameters["config"])
        found = verify.wait_for(server, name, lambda r: bool(ready(r)) and not busy(r), "a READY version")
        text = f"reloaded with a config override in {duration:.2f} s; READY versions {ready(found)}"
        # The stored config is what pages show; the inventory rereads only changed states.
        services.keep_live_config(server, name)
        return Outcome(text, duration)
    if action.kind == Action.Kind.LOAD:
        room = evict.make_room(action, run_action)
        before = footprint.before(action)
        duration = triton.load_model(server, name)
        found = verify.wait_for(server, name, lambda r: bool(ready(r)) and not busy(r), "a READY version")
        text = f"{room}loaded in {duration:.2f} s; READY versions {ready(found)}"
        return Outcome(text, duration, before=before)
    if action.kind == Action.Kind.UNLOAD:
        dependents = bool(action.parameters.get("unload_dependents"))
        before = None if dependents else footprint.before(action)
        triton.unload_model(server, name, unload_dependents=dependents)
        verify.wait_for(server, name, lambda r: not present(r), "no version loaded")
        return Outcome(f"unloaded{' with its dependents' if dependents else ''}", before=before)
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
    before = sorted(ready(verify.rows(server, name)))
    previous_policy = config.get("version_policy") or {"latest": {"num_versions": 1}}
    noted = {"previous_policy": previous_policy, "previous_versions": before}
    # Noted before loading, so the record says what served even if the load fails.
    Action.objects.filter(id=action.id).update(parameters={**action.parameters, **noted})
    target = {**config, "version_policy": policy}
    if server.reload_strategy == Server.ReloadStrategy.UNLOAD_FIRST:
        triton.unload_model(server, name)
        verify.wait_for(server, name, lambda r: not present(r), "the old versions unloaded")
        try:
            duration = triton.load_model(server, name, config=target)
        except triton.TritonError as exc:
            raise ActionFailed(f"{exc}{_restore(server, name, config)}") from exc
    else:
        duration = triton.load_model(server, name, config=target)
    want = set(expected)

    def served(found: Rows) -> bool:
        now_ready = ready(found)
        return bool(now_ready) and (not want or now_ready == want) and not busy(found)

    found = verify.wait_for(server, name, served, f"versions {sorted(want)} READY and no other")
    return Outcome(
        f"loaded in {duration:.2f} s with version_policy {policy}; READY versions {ready(found)}"
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


# --------------------------------------------------------------------------- reconcile


def reconcile(now: datetime | None = None) -> int:
    """End actions nobody is running any more; return how many were ended.

    A running action whose heartbeat is older than FLEET_ACTION_LEASE lost its worker: it
    ends succeeded or failed by what Triton's index shows ("worker lost" in its text). One
    that Triton is still loading or unloading waits for the next round, until it is
    FLEET_ACTION_MAX_AGE old. Each action is reconciled on its own: a server that errs or
    answers garbage costs only its own actions a round. A queued action no
    worker took within FLEET_ACTION_QUEUE_TIMEOUT is failed; one whose run message the broker
    lost (a Redis restart) is sent again after two reconcile intervals (see broker.lost).
    """
    close_old_connections()
    now = now or timezone.now()
    ended = 0
    stale = now - timedelta(seconds=settings.FLEET_ACTION_LEASE)
    for action in Action.objects.select_related("server").filter(
        state=Action.State.RUNNING, heartbeat_at__lt=stale
    ):
        try:
            ended += _reconcile_lost(action, stale, now)
        except Exception:  # one server's garbage or error must not stop the round
            log.exception("reconciling action %s on %s failed; next round", action.id, action.server.name)
    queue_cutoff = now - timedelta(seconds=settings.FLEET_ACTION_QUEUE_TIMEOUT)
    for action_id in Action.objects.filter(
        state=Action.State.QUEUED, requested_at__lt=queue_cutoff
    ).values_list("id", flat=True):
        ended += finish(
            action_id,
            Action.State.FAILED,
            error=f"not started within {settings.FLEET_ACTION_QUEUE_TIMEOUT:.0f} s: is a worker running?",
            from_states=[Action.State.QUEUED],
        )
    resend_cutoff = now - timedelta(seconds=2 * settings.FLEET_RECONCILE_INTERVAL)
    waiting = Action.objects.filter(state=Action.State.QUEUED, requested_at__lt=resend_cutoff)
    for action_id in sorted(broker.lost(list(waiting.values_list("id", flat=True)))):
        log.warning("action %s is queued but the broker lost its message: sending it again", action_id)
        requests.enqueue(action_id)
    return ended


def _reconcile_lost(action: Action, stale: datetime, now: datetime) -> bool:
    server, name = action.server, action.model
    # Why the runner let go: a lost worker, or (noted by settle) a call that gave up while
    # Triton went on, or the task's soft time limit.
    why = str(action.parameters.get(settle.WAITING) or WORKER_LOST)
    try:
        found = verify.rows(server, name)
    except triton.TritonError as exc:
        return finish(
            action.id,
            Action.State.FAILED,
            error=f"{why}; Triton could not be asked: {exc}",
            heartbeat_before=stale,
        )
    if busy(found):
        if not settle.too_old(action, now):
            return False  # Triton is still at it; look again next round
        return finish(
            action.id, Action.State.FAILED, error=f"{why}; {settle.stuck(found)}", heartbeat_before=stale
        )
    text = f"{why}; Triton shows {describe(found)}"
    _refresh(server)
    if verify.reached(action, found):
        return finish(action.id, Action.State.SUCCEEDED, result=text, heartbeat_before=stale)
    return finish(action.id, Action.State.FAILED, error=text, heartbeat_before=stale)
