"""A Triton killed and started again empty is reconciled as soon as a scrape sees it back,
not at beat's next reconcile: with a reconcile interval and an inventory interval of a
minute, it serves the deployment's v1 again within seconds of coming back."""

import time

import pytest
import requests

from tests.actions_support import served_version
from tests.celery_process import WorkerProcess
from tests.deploy_support import deploy, in_sync, pool, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = {"FLEET_DEPLOY_RECONCILE_INTERVAL": "60", "FLEET_INVENTORY_INTERVAL": "60"}


def _serves_v1(url: str) -> bool:
    try:
        return served_version(url) == 1
    except requests.RequestException:
        return False


def test_it_reconciles_a_server_that_comes_back(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    ((triton, server),) = pool(triton_factory, server_for, admin, 1)
    worker: WorkerProcess = celery_worker_factory(env=SLOW)
    started = time.monotonic()
    deployment = deploy(operator, [1])  # reconciled at once on creation, not by beat
    in_sync(operator, deployment["id"], 1)  # and again when the load ends
    assert time.monotonic() - started < 20

    triton.kill()
    worker.wait_for(lambda: type(server).objects.get(id=server.id).status == "down", timeout=30)
    triton.start()
    triton.wait_ready()
    back = time.monotonic()
    wait_for(lambda: _serves_v1(triton.http_url), timeout=30, what="v1 served again")
    assert time.monotonic() - back < 20  # beat's reconcile (60 s) and inventory (60 s) never came
