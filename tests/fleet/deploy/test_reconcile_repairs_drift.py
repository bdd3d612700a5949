"""What reconcile does when Triton changes under it: a model unloaded directly on Triton is
seen as drift and loaded again; a Triton restarted empty serves the deployment's version
again within two reconcile intervals of coming back."""

import time

import pytest
import requests

from fleet.models import Action
from tests.actions_support import served_version
from tests.deploy_support import deploy, pool, states, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

INTERVAL = 3.0


def _reconciler_loads(server):
    return list(Action.objects.filter(server=server, model="versioned").order_by("id"))


def test_it_repairs_an_unload_and_a_restart(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    ((triton, server),) = pool(triton_factory, server_for, admin, 1)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": str(INTERVAL)})
    deployment = deploy(operator, [1])
    wait_for(
        lambda: states(operator, deployment["id"]) == {"ranking-1": "in_sync"}, timeout=60, what="in_sync"
    )
    assert served_version(triton.http_url) == 1
    assert len(_reconciler_loads(server)) == 1

    # Someone unloads it on Triton itself: drift, repaired by a second load.
    requests.post(
        f"{triton.http_url}/v2/repository/models/versioned/unload", json={}, timeout=10
    ).raise_for_status()
    second = wait_for(lambda: _reconciler_loads(server)[1:], timeout=30, what="a second load")[0]
    assert "desired ['1'], READY none" in second.parameters["reason"]
    wait_for(
        lambda: states(operator, deployment["id"]) == {"ranking-1": "in_sync"}, timeout=30, what="in_sync"
    )
    assert served_version(triton.http_url) == 1

    # Triton restarted empty: back in sync within two reconcile intervals of serving again.
    triton.restart()
    triton.wait_ready()
    back = time.monotonic()
    wait_for(lambda: _serves_v1(triton.http_url), timeout=4 * INTERVAL, what="v1 served again")
    took = time.monotonic() - back
    assert took <= 2 * INTERVAL, f"in sync {took:.1f} s after Triton came back"
    assert len(_reconciler_loads(server)) == 3
    assert {str(a.requested_by) for a in _reconciler_loads(server)} == {"reconciler"}


def _serves_v1(url: str) -> bool:
    try:
        return served_version(url) == 1
    except requests.RequestException:
        return False
