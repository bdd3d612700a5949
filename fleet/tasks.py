"""Celery tasks: thin wrappers that take ids and call services; safe to run twice."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task
from django.conf import settings

from . import services, storage
from .alerting import evaluate, webhooks
from .autopilot import idle
from .control import requests, runner
from .deploy import reconcile, rollout
from .inside import debug
from .models import Action, Server

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def dispatch_scrapes() -> int:
    """Fan out one scrape per server; a scrape not started within the interval is dropped."""
    expires = settings.FLEET_SCRAPE_INTERVAL * 0.9
    ids = list(Server.objects.values_list("id", flat=True))
    if settings.PROMETHEUS_URL:
        # Metrics of the whole fleet in one task; the per-server tasks only read inventory.
        scrape_fleet_via_prometheus.apply_async(expires=expires)
    for server_id in ids:
        scrape.apply_async((server_id,), {"dispatched_at": time.time()}, expires=expires)
    try:  # servers whose scrapes stopped arriving: server_down (fleet/alerting/evaluate.py)
        evaluate.stale_servers()
    except Exception:
        log.exception("stale-server check failed; next tick")
    return len(ids)


@shared_task(ignore_result=True)
def scrape(server_id: int, dispatched_at: float | None = None) -> None:
    """Scrape one server; `dispatched_at` (from beat's fan-out) measures queue lag."""
    was = Server.objects.filter(id=server_id).values_list("status", flat=True).first()
    ok = services.scrape_server(server_id, dispatched_at)  # records its own figures too
    if ok and was != Server.Status.UP:  # it (re)appeared: its deployments at once
        _send(reconcile_server, server_id)


@shared_task(ignore_result=True)
def scrape_fleet_via_prometheus() -> int:
    return services.scrape_fleet_via_prometheus()


@shared_task(ignore_result=True)
def maintain_storage() -> None:
    storage.rollup()
    storage.prune()


def _action_time_limit() -> int:
    # Triton's load, the verification, and (unload then load) a second load, with slack.
    return int(2 * settings.FLEET_LOAD_TIMEOUT + settings.FLEET_VERIFY_TIMEOUT + 60)


@shared_task(
    name=requests.RUN_ACTION_TASK,  # control sends it by this name, never importing this module
    ignore_result=True,
    acks_late=True,
    soft_time_limit=_action_time_limit(),
    time_limit=_action_time_limit() + 30,
)
def run_action(action_id: int) -> None:
    """Run one control action. acks_late: a worker that dies mid-task leaves the message to
    be redelivered; the row claim makes the redelivery a no-op, and reconcile ends the row."""
    runner.run_action(action_id)
    # The reconciler's load ended: its deployment's states follow now, not at the next beat.
    parameters = Action.objects.filter(id=action_id).values_list("parameters", flat=True).first() or {}
    if "deployment" in parameters and "rollout" not in parameters:
        _send(reconcile_deployment, int(parameters["deployment"]))


def _send(task: Any, object_id: int) -> None:
    """Send a follow-up reconcile; a broker that is down only delays it to beat's next one."""
    try:
        task.delay(object_id)
    except Exception:
        log.warning("could not send %s(%s); beat reconciles later", task.name, object_id, exc_info=True)


@shared_task(ignore_result=True)
def reconcile_actions() -> int:
    return runner.reconcile()


@shared_task(ignore_result=True)
def reconcile_deployments() -> int:
    """Beat: every deployment against the inventory (see fleet/deploy/reconcile.py), and every
    rollout no worker advanced lately taken up again."""
    rollout.take_up_stale()
    return reconcile.reconcile_all()


@shared_task(ignore_result=True)
def reconcile_deployment(deployment_id: int) -> int:
    """One deployment, right after it changed."""
    return reconcile.reconcile_one(deployment_id)


@shared_task(ignore_result=True)
def reconcile_server(server_id: int) -> int:
    """A server that (re)appeared: its inventory read now, then its deployments reconciled."""
    return reconcile.server_appeared(server_id)


@shared_task(name=rollout.ADVANCE_TASK, ignore_result=True)
def advance_rollout(rollout_id: int) -> None:
    """One step of a rollout; it sends itself again while the rollout runs."""
    rollout.advance(rollout_id)


@shared_task(ignore_result=True)
def autopilot_idle() -> int:
    """Unload idle models on every server whose autopilot has an idle timeout; one server's
    error costs only its own round."""
    requested = 0
    for server_id in idle.servers_with_idle_unload():
        try:
            requested += len(idle.unload_idle(server_id))
        except Exception:
            log.exception("autopilot idle unload of server %s failed; next round", server_id)
    return requested


@shared_task(name=webhooks.DELIVER_TASK, ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt of one webhook delivery; the next attempt is queued after its backoff."""
    webhooks.retry_or_finish(delivery_id)


@shared_task(name=debug.REVERT_TASK, ignore_result=True)
def revert_debug_session(session_id: int) -> bool:
    """End a debug session at its end time (sent with eta); a second run does nothing."""
    return debug.revert(session_id, "timer")


@shared_task(ignore_result=True)
def sweep_debug_sessions() -> int:
    """Revert debug sessions past their end whose timer was lost (a worker restart)."""
    return debug.sweep()
