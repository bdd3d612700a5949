"""The canary's v2 takes 50 ms per request on one instance: concurrent requests during the
bake queue behind each other, its queue time per request goes far past twice v1's on the same
server before the change plus 5 ms, and the metrics gate rolls the canary back with the
before/after figures; no failures were involved, and the other server is untouched."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton_http

from fleet.models import Action
from tests.actions_support import served_version
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rollout, wait_ended, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REPOSITORY = Path(__file__).resolve().parents[2] / "data" / "deploy_models"


def _infer(url: str, version: str, count: int, concurrency: int) -> None:
    def one(_: int) -> None:
        client = triton_http.InferenceServerClient(url.removeprefix("http://"), network_timeout=30)
        tensor = triton_http.InferInput("INPUT0", [1], "FP32")
        tensor.set_data_from_numpy(np.ones(1, dtype=np.float32))
        client.infer("queued", [tensor], model_version=version)
        client.close()

    with ThreadPoolExecutor(concurrency) as pool_:
        list(pool_.map(one, range(count)))


def test_it_rolls_back_a_canary_whose_queue_time_grows(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2, repository=REPOSITORY)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], model="queued", gates={"bake_s": 4})
    in_sync(operator, deployment["id"], 2)
    for triton, _server in fleet:
        _infer(triton.http_url, "1", 10, 1)  # the baseline: v1, one at a time
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
    _infer(canary.http_url, "2", 16, 16)

    done = wait_ended(operator, rollout_id)
    assert done["state"] == "rolled_back", done
    metrics = next(g for g in done["waves"][0]["gates"] if g["kind"] == "metrics")["detail"]
    assert metrics["failures_per_s"] == 0 and metrics["requests"] == 16
    assert metrics["queue_us_per_request"] > metrics["queue_limit_us"]
    assert metrics["queue_limit_us"] == pytest.approx(
        2 * metrics["baseline_queue_us_per_request"] + 5000, abs=1
    )
    assert metrics["reasons"][0].startswith("queue ")
    assert served_version(canary.http_url, "queued") == 1
    for _triton, server in fleet:
        if server.id != canary_id:
            assert Action.objects.filter(server=server).count() == before[server.id]
