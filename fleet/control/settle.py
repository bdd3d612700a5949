"""When Triton goes on after FleetDeck stopped waiting for it.

A load call that times out (FLEET_LOAD_TIMEOUT), a verification that runs out of time, or
the task's soft time limit does not stop Triton: the model may still be LOADING. Ending
the action then would free its one-action-per-model lock and let a second load in, the
double load the lock exists to prevent (Triton #7018). So while the index shows the model
LOADING or UNLOADING, the action stays running, its parameters saying why under
"waiting_for_triton", and it ends from what Triton finally shows: here, polled by the
runner; or, when the runner has to stop (the soft time limit, a lost worker), by
`runner.reconcile`. An action Triton keeps busy for FLEET_ACTION_MAX_AGE after it started
is ended failed: that is a stuck server, not a slow load.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .. import triton
from ..models import Action
from . import verify
from .errors import ActionFailed
from .record import publish

log = logging.getLogger(__name__)

WAITING = "waiting_for_triton"
POLL_S = 0.5


def mark_waiting(action_id: int, why: str) -> None:
    """Note on the running action why it waits for Triton (pages show the parameters)."""
    current = Action.objects.filter(id=action_id).values_list("parameters", flat=True).first() or {}
    running = Action.objects.filter(id=action_id, state=Action.State.RUNNING)
    running.update(parameters={**current, WAITING: why})
    log.warning("action %s waits for Triton: %s", action_id, why)
    publish(action_id)


def too_old(action: Action, now: datetime) -> bool:
    started = action.started_at or action.requested_at
    return now - started >= timedelta(seconds=settings.FLEET_ACTION_MAX_AGE)


def after_failure(action: Action, why: str) -> str:
    """The call to Triton failed or gave up with `why`. If Triton is not busy with the
    model, the failure stands (ActionFailed). If it is, wait (the action keeps running) until
    it is done, and return the result text if the index shows what the action wanted;
    ActionFailed otherwise, or once the action is FLEET_ACTION_MAX_AGE old."""
    try:
        found = verify.rows(action.server, action.model)
    except triton.TritonError:
        raise ActionFailed(why) from None
    if not verify.busy(found):
        raise ActionFailed(why)
    mark_waiting(action.id, f"{why}; Triton still shows {verify.describe(found)}")
    while verify.busy(found):
        if too_old(action, timezone.now()):
            raise ActionFailed(f"{why}; {stuck(found)}")
        time.sleep(POLL_S)
        try:
            found = verify.rows(action.server, action.model)
        except triton.TritonError as exc:  # a hiccup: the model may still be loading
            log.info("action %s: index unreadable while waiting (%s)", action.id, exc)
    text = f"{why}; Triton went on and then showed {verify.describe(found)}"
    if verify.reached(action, found):
        return text
    raise ActionFailed(text)


def stuck(rows: verify.Rows) -> str:
    return (
        f"Triton still shows {verify.describe(rows)} after FLEET_ACTION_MAX_AGE "
        f"({settings.FLEET_ACTION_MAX_AGE:.0f} s): given up"
    )
