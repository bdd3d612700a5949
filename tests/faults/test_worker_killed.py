"""A Celery worker SIGKILLed in the middle of a load, again and again, at different moments:
no action is left running, each ends succeeded or failed with a reason that agrees with
Triton, and Triton never loads the model twice at once (the model stays locked until the
action is resolved)."""

from __future__ import annotations

import random
import time

import pytest
import requests

from fleet import services, tasks
from fleet.models import Action
from tests.actions_support import add_model, demo_copy, index_rows
from tests.conftest import client_for
from tests.faults.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_S = 1.5
LOAD_S = 3.0
WORKER_ENV = {"FLEET_ACTION_LEASE": str(LEASE_S), "FLEET_RECONCILE_INTERVAL": "1"}
# Where in the load the worker dies: as soon as it claimed the action (Triton may not
# have heard of it), once Triton shows LOADING, or somewhere later in the load (possibly
# after Triton finished, before the worker verified and recorded it).
MOMENTS = ("claimed", "loading", "later")
LOADING = '"loading: sleepy:1"'


def _states(url: str) -> list[str]:
    return [row.get("state", "") for row in index_rows(url, "sleepy")]


def _unload(url: str) -> None:
    requests.post(f"{url}/v2/repository/models/sleepy/unload", json={}, timeout=10).raise_for_status()
    wait_until(lambda: not {"READY", "LOADING", "UNLOADING"} & set(_states(url)), 60, "sleepy unloaded")


def test_it_resolves_every_action_whose_worker_was_killed_mid_load(
    operator, settings, tmp_path, triton_factory, server_for, celery_worker_factory, fault_row, faults_count
) -> None:
    settings.FLEET_ACTION_LEASE = LEASE_S
    row = fault_row("Celery worker SIGKILLed mid-load", faults_count)
    repo = demo_copy(tmp_path)
    add_model(repo, "sleepy", {1: f"sleepy:{LOAD_S}"})
    triton = triton_factory(repo, models=["fast"], name="triton-worker-killed")
    server = server_for(triton)
    services.refresh_inventory(server)
    api = client_for(operator)
    load_url = f"/api/servers/{server.id}/models/sleepy/load/"
    endings: dict[str, int] = {}
    rng = random.Random(12)

    for cycle in range(1, faults_count + 1):
        moment = MOMENTS[(cycle - 1) % len(MOMENTS)]
        if "READY" in _states(triton.http_url):
            _unload(triton.http_url)
        log_start = len(triton.log_path.read_text())
        doomed = celery_worker_factory(f"doomed-{cycle}", beat=False, env=WORKER_ENV)
        response = api.post(load_url, {}, format="json")
        assert response.status_code == 202, response.content
        action_id = response.json()["action_id"]
        action = Action.objects.filter(id=action_id)
        if moment == "claimed":
            doomed.wait_for(lambda a=action: a.filter(state=Action.State.RUNNING).exists())
        else:
            doomed.wait_for(lambda: "LOADING" in _states(triton.http_url))
            if moment == "later":
                time.sleep(rng.uniform(0.0, LOAD_S))
        doomed.kill()

        # The model stays locked while the action is unresolved: no second load gets in.
        lost_before, deadline = len(row.lost), time.monotonic() + 90
        while action.filter(state__in=Action.ACTIVE_STATES).exists():
            second = api.post(load_url, {}, format="json")
            if second.status_code != 409:
                row.lose(
                    f"kill {cycle} ({moment}): a second load got {second.status_code} while #{action_id} ran"
                )
                break
            tasks.reconcile_actions()  # what beat runs every FLEET_RECONCILE_INTERVAL
            if not action.filter(state__in=Action.ACTIVE_STATES).exists():
                break
            time.sleep(0.5)
            if time.monotonic() > deadline:
                row.lose(
                    f"kill {cycle} ({moment}): action #{action_id} still {action.get().state} after 90 s"
                )
                break

        ended = action.get()
        wait_until(lambda: not {"LOADING", "UNLOADING"} & set(_states(triton.http_url)), 60, "Triton settled")
        ready = "READY" in _states(triton.http_url)
        reason = ended.result if ended.state == Action.State.SUCCEEDED else ended.error
        if ended.state not in {Action.State.SUCCEEDED, Action.State.FAILED}:
            row.lose(f"kill {cycle} ({moment}): action #{action_id} left {ended.state}")
        elif not reason.strip():
            row.lose(f"kill {cycle} ({moment}): action #{action_id} {ended.state} without a reason")
        elif (ended.state == Action.State.SUCCEEDED) != ready:
            shows = _states(triton.http_url)
            row.lose(f"kill {cycle} ({moment}): #{action_id} {ended.state} but Triton shows {shows}")
        loads = triton.log_path.read_text()[log_start:].count(LOADING)
        if loads > 1:
            row.lose(f"kill {cycle} ({moment}): Triton loaded sleepy {loads} times")
        endings[f"{moment} {ended.state}"] = endings.get(f"{moment} {ended.state}", 0) + 1
        if len(row.lost) == lost_before:
            row.survived += 1

    left = Action.objects.filter(server=server, state__in=Action.ACTIVE_STATES).count()
    if left:
        row.lose(f"{left} actions left queued or running")
    row.figures["endings"] = ", ".join(f"{name} {n}" for name, n in sorted(endings.items()))
    row.check()
