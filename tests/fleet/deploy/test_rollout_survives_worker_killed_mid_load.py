"""A worker SIGKILLed while the canary's v2 is still loading (its module sleeps 4 s on
import): the load's action is ended from Triton's index by the actions' reconcile, the next
worker takes the rollout up, and it ends succeeded; nothing stays running."""

import pytest

from fleet.models import Action
from tests.actions_support import add_model, served_version, states
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rollout, wait_ended, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ENV = {
    "FLEET_DEPLOY_RECONCILE_INTERVAL": "1",
    "FLEET_DEPLOY_ROLLOUT_LEASE": "2",
    "FLEET_ACTION_LEASE": "2",
    "FLEET_RECONCILE_INTERVAL": "1",
}


def test_it_ends_a_rollout_whose_worker_died_mid_load(
    admin, operator, tmp_path, triton_factory, server_for, celery_worker_factory
) -> None:
    repository = tmp_path / "models"
    add_model(repository, "slowv2", {1: "ok", 2: "sleepy:4"})
    ((triton, _server),) = pool(triton_factory, server_for, admin, 1, repository=repository)
    first = celery_worker_factory(env=ENV)
    deployment = deploy(operator, [1], model="slowv2", gates={"bake_s": 1})
    in_sync(operator, deployment["id"], 1)
    response = client_for(operator).patch(
        f"/api/deployments/{deployment['id']}/", {"versions": [2]}, format="json"
    )
    rollout_id = response.json()["rollout_id"]

    def loading_action():
        wave = rollout(operator, rollout_id)["waves"][0]
        ids = list(wave["actions"].values())
        return ids and Action.objects.filter(id=ids[0], state=Action.State.RUNNING).exists() and ids[0]

    action_id = wait_for(loading_action, timeout=60, what="the canary's load running")
    # Killed only once Triton loads v2: a worker killed between taking the action and
    # sending the load leaves nothing loading, and that action rightly ends failed.
    wait_for(lambda: "LOADING" in states(triton.http_url, "slowv2"), timeout=30, what="v2 LOADING")
    first.kill()
    assert Action.objects.get(id=action_id).state == Action.State.RUNNING
    celery_worker_factory(env=ENV)

    done = wait_ended(operator, rollout_id, timeout=90)
    assert done["state"] == "succeeded", (done["error"], done["waves"])
    load = Action.objects.get(id=action_id)
    assert load.state == Action.State.SUCCEEDED and "worker lost" in load.result
    assert served_version(triton.http_url, "slowv2") == 2
