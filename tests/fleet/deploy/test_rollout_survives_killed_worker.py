"""A worker SIGKILLed while a rollout bakes its canary: the rollout does not stay running
for ever. The next worker's beat takes it up once its lease lapsed, and it goes on from the
state the database holds to its end."""

import pytest

from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rollout, wait_ended, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ENV = {
    "FLEET_DEPLOY_RECONCILE_INTERVAL": "1",
    "FLEET_DEPLOY_ROLLOUT_POLL": "0.2",
    "FLEET_DEPLOY_ROLLOUT_LEASE": "2",
}


def test_it_ends_a_rollout_whose_worker_was_killed(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    pool(triton_factory, server_for, admin, 2)
    first = celery_worker_factory(env=ENV)
    deployment = deploy(operator, [1], gates={"bake_s": 4})
    in_sync(operator, deployment["id"], 2)
    response = client_for(operator).patch(
        f"/api/deployments/{deployment['id']}/", {"versions": [2]}, format="json"
    )
    rollout_id = response.json()["rollout_id"]
    wait_for(
        lambda: rollout(operator, rollout_id)["waves"][0]["state"] == "baking", timeout=60, what="baking"
    )

    first.kill()
    assert rollout(operator, rollout_id)["state"] == "running"
    celery_worker_factory(env=ENV)

    done = wait_ended(operator, rollout_id, timeout=90)
    assert done["state"] == "succeeded", done
    assert [w["state"] for w in done["waves"]] == ["passed", "passed"]
