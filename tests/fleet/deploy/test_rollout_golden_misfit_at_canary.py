"""Golden inputs saved while no server served the model (no config could be had, so none
could be checked) are checked on the canary's live config before any inference: the smoke
gate fails naming the input, the canary is rolled back, and the other server is never
touched."""

import pytest

from fleet.models import Action, ModelConfig
from tests.deploy_support import deploy, pool, rolled

pytestmark = pytest.mark.django_db(transaction=True)

MISFIT = {
    "inputs": [{"name": "IMAGE", "datatype": "FP32", "shape": [1], "data": [1.0]}],
    "outputs": [{"name": "OUTPUT0", "data": [2]}],
}


def test_it_fails_the_canary_naming_the_input(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    # Paused: the reconciler loads nothing, so no config of the model exists anywhere.
    deployment = deploy(operator, [1], smoke=MISFIT, paused=True, gates={"bake_s": 1})
    assert not ModelConfig.objects.filter(name="versioned").exists()
    assert deployment["smoke_check"] == "at_canary"  # the 201 said the check was put off

    done = rolled(operator, deployment["id"], [2])

    assert done["state"] == "rolled_back", done
    assert "smoke input IMAGE is not an input of versioned" in done["error"]
    canary_wave, rest = done["waves"][0], done["waves"][1:]
    smoke = next(g for g in canary_wave["gates"] if g["kind"] == "smoke")
    assert smoke["passed"] is False and "IMAGE" in smoke["detail"]["error"]
    assert all(w["state"] == "pending" and not w["actions"] for w in rest)
    (canary_id,) = canary_wave["servers"]
    (other,) = [s for _, s in fleet if s.id != canary_id]
    assert not Action.objects.filter(server=other).exists()
