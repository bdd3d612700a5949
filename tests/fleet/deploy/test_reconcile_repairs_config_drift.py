"""A deployment's config override is part of its desired state: once it converged, a reload
on Triton itself with another config (the index does not change) shows as drift naming the
key, on the inventory's cadence, and the reconciler loads the override back (one audited
load, requested by the reconciler)."""

import json

import pytest
import requests

from fleet.models import Action
from tests.deploy_support import deploy, in_sync, pool, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

OVERRIDE = {"dynamic_batching": {"max_queue_delay_microseconds": 5000}}
DIFF = "config: dynamic_batching.max_queue_delay_microseconds desired 5000 ≠ live 500"


def _delay(url: str) -> int:
    config = requests.get(f"{url}/v2/models/fast/config", timeout=10).json()
    return int(config["dynamic_batching"]["max_queue_delay_microseconds"])


def _loads(server):
    return list(Action.objects.filter(server=server, model="fast").order_by("id"))


def test_it_repairs_a_reload_without_the_override(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    ((triton, server),) = pool(triton_factory, server_for, admin, 1)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_INVENTORY_INTERVAL": "1"})
    deployment = deploy(operator, [1], model="fast", config=OVERRIDE)
    in_sync(operator, deployment["id"], 1)
    assert _delay(triton.http_url) == 5000
    assert len(_loads(server)) == 1

    # Someone reloads it on Triton with the repository's delay: READY stays READY.
    config = requests.get(f"{triton.http_url}/v2/models/fast/config", timeout=10).json()
    config["dynamic_batching"]["max_queue_delay_microseconds"] = 500
    requests.post(
        f"{triton.http_url}/v2/repository/models/fast/load",
        json={"parameters": {"config": json.dumps(config)}},
        timeout=60,
    ).raise_for_status()
    assert _delay(triton.http_url) == 500

    repair = wait_for(lambda: _loads(server)[1:], timeout=30, what="a repair load")[0]
    assert DIFF in repair.parameters["reason"], repair.parameters["reason"]
    assert repair.parameters["config_overrides"] == OVERRIDE
    in_sync(operator, deployment["id"], 1)
    assert _delay(triton.http_url) == 5000
    assert {str(a.requested_by) for a in _loads(server)} == {"reconciler"}
    assert len(_loads(server)) == 2
