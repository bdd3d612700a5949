"""The canary's v2 answers the smoke request but fails real requests during the bake: the
metrics gate sees its failures per second above the deployment's threshold (no new
failures), rolls the canary back, and records the figures; the other server is untouched."""

import numpy as np
import pytest
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from fleet.models import Action
from tests.actions_support import served_version
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rollout, wait_ended, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _fail_on_v2(url: str, count: int) -> int:
    """Send requests v2 fails (versioned raises on NaN); returns how many failed."""
    client = triton_http.InferenceServerClient(url.removeprefix("http://"))
    failed = 0
    for _ in range(count):
        tensor = triton_http.InferInput("INPUT0", [1], "FP32")
        tensor.set_data_from_numpy(np.array([np.nan], dtype=np.float32))
        try:
            client.infer("versioned", [tensor], model_version="2")
        except InferenceServerException:
            failed += 1
    client.close()
    return failed


def test_it_rolls_back_a_canary_that_fails_during_the_bake(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], gates={"bake_s": 4})
    in_sync(operator, deployment["id"], 2)
    before = {s.id: Action.objects.filter(server=s).count() for _, s in fleet}

    response = client_for(operator).patch(
        f"/api/deployments/{deployment['id']}/", {"versions": [2]}, format="json"
    )
    rollout_id = response.json()["rollout_id"]
    wait_for(
        lambda: rollout(operator, rollout_id)["waves"][0]["state"] == "baking", timeout=60, what="baking"
    )
    (canary_id,) = rollout(operator, rollout_id)["waves"][0]["servers"]
    canary = next(t for t, s in fleet if s.id == canary_id)
    assert _fail_on_v2(canary.http_url, 5) == 5

    done = wait_ended(operator, rollout_id)
    assert done["state"] == "rolled_back", done
    metrics = next(g for g in done["waves"][0]["gates"] if g["kind"] == "metrics")
    assert metrics["passed"] is False
    assert metrics["detail"]["failures_per_s"] == pytest.approx(5 / 4, rel=0.01)
    assert "failures/s > 0" in metrics["detail"]["reasons"][0]
    assert "metrics gate failed" in done["error"]
    assert served_version(canary.http_url) == 1
    for _triton, server in fleet:
        if server.id != canary_id:
            assert Action.objects.filter(server=server).count() == before[server.id]
