"""A version that does not exist: the canary's load fails with Triton's error (the canary
keeps serving v1: a failed load leaves what served), the rollout ends rolled_back, and the
other server is never touched."""

import pytest

from fleet.models import Action
from tests.actions_support import served_version
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rolled

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_fails_the_canary_and_touches_nothing_else(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], gates={"bake_s": 1})
    in_sync(operator, deployment["id"], 2)
    before = {s.id: Action.objects.filter(server=s).count() for _, s in fleet}

    done = rolled(operator, deployment["id"], [7])

    assert done["state"] == "rolled_back", done
    load = done["waves"][0]["gates"][0]
    assert load["kind"] == "load" and load["passed"] is False
    assert "version" in load["detail"]["error"]
    assert "the load failed" in done["error"]
    (canary_id,) = done["waves"][0]["servers"]
    for triton, server in fleet:
        assert served_version(triton.http_url) == 1
        if server.id != canary_id:
            assert Action.objects.filter(server=server).count() == before[server.id]
    assert client_for(operator).get(f"/api/deployments/{deployment['id']}/").json()["versions"] == [1]
