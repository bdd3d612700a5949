"""Actual is the index plus the loaded config's version policy: a server serving v3 under
Triton's default policy (latest) is drift for a deployment of [3] (specific), though the
same version is READY. Triton's reload check ignores version_policy, so a load with the new
policy alone keeps v3 loaded with its old config; the reconciler's load reloads with a
marker parameter, Triton's config then shows the policy, and the target stays in sync: one
load, never a loop."""

import time

import pytest
import requests

from fleet.models import Action
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_repairs_a_policy_that_differs_over_the_same_versions_once(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    triton = triton_factory(models=["versioned"], name="ranking-1")  # config.pbtxt: latest, v3
    server = server_for(triton)
    client_for(admin).patch(f"/api/servers/{server.id}/", {"labels": {"pool": "ranking"}}, format="json")
    worker = celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1"})
    worker.wait_for(lambda: server.configs.filter(name="versioned").exists(), timeout=30)

    deployment = deploy(operator, [3])
    in_sync(operator, deployment["id"], 1)
    (load,) = Action.objects.filter(server=server)
    assert load.state == Action.State.SUCCEEDED and str(load.requested_by) == "reconciler"
    assert 'version policy desired {"specific": {"versions": [3]}}' in load.parameters["reason"]
    assert load.parameters.get("reloaded_for_config") is True  # the policy alone changed nothing
    live = requests.get(f"{triton.http_url}/v2/models/versioned/config", timeout=10).json()
    assert live["version_policy"] == {"specific": {"versions": [3]}}

    time.sleep(4)  # four reconcile intervals: still in sync, no second load
    in_sync(operator, deployment["id"], 1)
    assert Action.objects.filter(server=server).count() == 1
    (target,) = client_for(operator).get(f"/api/deployments/{deployment['id']}/").json()["servers"]
    assert target["detail"] == ""
