"""Actual is the index plus the loaded config's version policy: a server serving v3 under
Triton's default policy (latest) is in sync for a deployment of [3] (specific), the
difference noted, and never reloaded (Triton answers such a load without reloading and keeps
its config, so a reload would change nothing, again and again)."""

import time

import pytest

from fleet.models import Action
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_notes_a_policy_that_differs_over_the_same_versions(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    triton = triton_factory(models=["versioned"], name="ranking-1")  # config.pbtxt: latest, v3
    server = server_for(triton)
    client_for(admin).patch(f"/api/servers/{server.id}/", {"labels": {"pool": "ranking"}}, format="json")
    worker = celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1"})
    worker.wait_for(lambda: server.configs.filter(name="versioned").exists(), timeout=30)

    deployment = deploy(operator, [3])
    in_sync(operator, deployment["id"], 1)
    (target,) = client_for(operator).get(f"/api/deployments/{deployment['id']}/").json()["servers"]
    assert target["detail"] == (
        'version policy {"latest": {"num_versions": 1}}, desired {"specific": {"versions": [3]}}: '
        "the same versions READY"
    )
    time.sleep(3)  # three reconcile intervals
    assert not Action.objects.filter(server=server).exists()
