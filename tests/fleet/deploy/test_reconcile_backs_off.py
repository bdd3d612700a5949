"""A version Triton cannot load: the server's state is failed with Triton's error, tries are
spaced by a doubling backoff (never a hot loop), and pausing the deployment stops them."""

import time

import pytest

from fleet.models import Action
from tests.conftest import client_for
from tests.deploy_support import deploy, pool, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

INTERVAL = 0.5


def test_it_backs_off_a_load_that_keeps_failing(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    ((_triton, server),) = pool(triton_factory, server_for, admin, 1)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": str(INTERVAL)})
    deployment = deploy(operator, [9])  # versioned has 1, 2 and 3
    otto = client_for(operator)

    def failed():
        targets = otto.get(f"/api/deployments/{deployment['id']}/").json()["servers"]
        return targets[0] if targets and targets[0]["state"] == "failed" else None

    target = wait_for(failed, timeout=60, what="the failed state")
    assert "at least one version must be available" in target["error"], target  # Triton's words
    started = time.monotonic()
    first = Action.objects.filter(server=server).count()
    time.sleep(8)
    tries = Action.objects.filter(server=server).count() - first
    # Without backoff: one try per interval (16 in 8 s). With it: 0.5, 1, 2, 4 s apart.
    assert 1 <= tries <= 4, f"{tries} loads in {time.monotonic() - started:.0f} s"
    ended = Action.objects.filter(server=server).exclude(state__in=Action.ACTIVE_STATES)
    assert {a.state for a in ended} == {Action.State.FAILED}

    assert (
        otto.patch(f"/api/deployments/{deployment['id']}/", {"paused": True}, format="json").status_code
        == 200
    )
    wait_for(
        lambda: not Action.objects.filter(server=server, state__in=Action.ACTIVE_STATES).exists(), timeout=30
    )
    paused_at = Action.objects.filter(server=server).count()
    time.sleep(6)
    assert Action.objects.filter(server=server).count() == paused_at
    (target,) = otto.get(f"/api/deployments/{deployment['id']}/").json()["servers"]
    assert "paused" in target["detail"]
    assert target["actual_versions"] == []  # what config.pbtxt loaded on the way was unloaded
