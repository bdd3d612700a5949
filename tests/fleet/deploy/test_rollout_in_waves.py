"""v1 -> v2 over a pool of three: PATCH answers 202 with the rollout, a second change while
it runs is 409; the canary wave comes first and loads alone, then the others one by one;
each gate (load, smoke against version 2 explicitly, metrics after the bake) passes, and
each server then answers an inference with 2."""

import itertools

import pytest

from fleet.models import Action
from tests.actions_support import served_version
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, wait_ended

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_rolls_v2_out_canary_first(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 3)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], gates={"bake_s": 1, "max_unavailable": 1})
    in_sync(operator, deployment["id"], 3)
    otto = client_for(operator)

    response = otto.patch(f"/api/deployments/{deployment['id']}/", {"versions": [2]}, format="json")
    assert response.status_code == 202, response.json()
    rollout_id = response.json()["rollout_id"]
    again = otto.patch(f"/api/deployments/{deployment['id']}/", {"versions": [3]}, format="json")
    assert again.status_code == 409, again.json()
    assert f"rollout #{rollout_id}" in again.json()["detail"]

    done = wait_ended(operator, rollout_id)
    assert done["state"] == "succeeded", done
    assert [len(w["servers"]) for w in done["waves"]] == [1, 1, 1]
    assert [w["state"] for w in done["waves"]] == ["passed"] * 3
    for wave in done["waves"]:
        kinds = [(g["kind"], g["passed"]) for g in wave["gates"]]
        assert kinds == [("load", True), ("smoke", True), ("metrics", True)], wave["gates"]
        smoke = wave["gates"][1]["detail"]
        assert smoke["version"] == "2" and smoke["outputs"] == {"OUTPUT0": [2]}

    # Wave by wave: each wave's load was requested after the previous one ended.
    loads = [Action.objects.get(id=next(iter(w["actions"].values()))) for w in done["waves"]]
    for earlier, later in itertools.pairwise(loads):
        assert earlier.finished_at is not None and earlier.finished_at < later.requested_at
    assert loads[0].server_id == done["waves"][0]["servers"][0]
    for triton, _server in fleet:
        assert served_version(triton.http_url) == 2
    assert otto.get(f"/api/deployments/{deployment['id']}/").json()["versions"] == [2]
