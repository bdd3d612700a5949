"""Golden requests that v2 answers wrongly: the canary's smoke gate fails with the evidence
(expected 1, got 2), the canary is rolled back to v1 through a load action, the rollout ends
rolled_back, the deployment's versions go back to [1], and the other server never changes."""

import pytest

from fleet.models import Action
from tests.actions_support import served_version
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rolled

pytestmark = pytest.mark.django_db(transaction=True)

GOLDEN = {
    "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1], "data": [1.0]}],
    "outputs": [{"name": "OUTPUT0", "data": [1], "tolerance": 0}],
}


def test_it_rolls_the_canary_back_and_leaves_the_others(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], smoke=GOLDEN, gates={"bake_s": 1})
    in_sync(operator, deployment["id"], 2)
    before = {s.id: set(Action.objects.filter(server=s).values_list("id", flat=True)) for _, s in fleet}

    done = rolled(operator, deployment["id"], [2])

    assert done["state"] == "rolled_back", done
    assert "smoke failed" in done["error"]
    canary_wave, rest = done["waves"][0], done["waves"][1:]
    smoke = next(g for g in canary_wave["gates"] if g["kind"] == "smoke")
    assert smoke["passed"] is False
    assert smoke["detail"]["mismatches"] == [{"output": "OUTPUT0", "expected": [1], "got": [2]}]
    assert all(w["state"] == "pending" and not w["actions"] for w in rest)

    (canary_id,) = canary_wave["servers"]
    canary = next(t for t, s in fleet if s.id == canary_id)
    other_triton, other = next((t, s) for t, s in fleet if s.id != canary_id)
    assert served_version(canary.http_url) == 1
    undo = Action.objects.filter(server_id=canary_id).exclude(id__in=before[canary_id]).order_by("id")
    assert [a.parameters["versions"] for a in undo] == [["2"], ["1"]]
    assert {str(a.requested_by) for a in undo} == {"reconciler"}
    # The other server: no action since the deployment converged, still v1.
    assert set(Action.objects.filter(server=other).values_list("id", flat=True)) == before[other.id]
    assert served_version(other_triton.http_url) == 1
    record = client_for(operator).get(f"/api/deployments/{deployment['id']}/").json()
    assert record["versions"] == [1]
    assert (
        record["history"][0]["kind"] == "rolled_back" and record["history"][0]["changed_by"] == "reconciler"
    )
