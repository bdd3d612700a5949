"""A worker SIGKILLed in the middle of a load never leaves the action running: beat's
reconciliation ends it from what Triton's index shows, saying the worker was lost."""

import pytest

from fleet import services
from fleet.control.runner import WORKER_LOST
from fleet.models import Action
from tests.actions_support import add_model, demo_copy, index_rows, wait_action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

LEASE = {"FLEET_ACTION_LEASE": "1.5", "FLEET_RECONCILE_INTERVAL": "1"}


def test_it_ends_an_action_whose_worker_was_killed_mid_load(
    operator, tmp_path, triton_factory, server_for, celery_worker_factory
) -> None:
    repo = demo_copy(tmp_path)
    add_model(repo, "sleepy", {1: "sleepy:6"})
    triton = triton_factory(repo, models=["fast"])
    server = server_for(triton)
    services.refresh_inventory(server)
    doomed = celery_worker_factory("doomed", beat=False, env=LEASE)

    response = client_for(operator).post(f"/api/servers/{server.id}/models/sleepy/load/", {}, format="json")
    assert response.status_code == 202
    action_id = response.json()["action_id"]
    # Killed once Triton is loading (killed before the request reached Triton, the right
    # ending is "failed, worker lost": Triton never heard of it).
    doomed.wait_for(lambda: [r.get("state") for r in index_rows(triton.http_url, "sleepy")] == ["LOADING"])
    doomed.kill()
    assert Action.objects.get(id=action_id).state == Action.State.RUNNING

    celery_worker_factory("rescuer", beat=True, env=LEASE)
    action = wait_action(action_id, timeout=90)
    assert action.state in {Action.State.SUCCEEDED, Action.State.FAILED}
    assert WORKER_LOST in action.result + action.error
    # Triton went on loading without its caller; the reconciliation saw it READY.
    assert action.state == Action.State.SUCCEEDED, action.error
