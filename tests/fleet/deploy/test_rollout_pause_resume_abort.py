"""Operators pause, resume and abort a rollout through the API; a viewer may not. Abort
rolls the touched canary back to v1 and ends the rollout aborted; an ended rollout refuses
further verbs (400)."""

import pytest

from tests.actions_support import served_version
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool, rollout, wait_ended, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

VERBS = {"pause by otto", "resume by otto", "abort by otto"}


def test_it_pauses_resumes_and_aborts(
    admin, operator, viewer, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], gates={"bake_s": 60})
    in_sync(operator, deployment["id"], 2)
    otto = client_for(operator)
    rollout_id = otto.patch(f"/api/deployments/{deployment['id']}/", {"versions": [2]}, format="json").json()[
        "rollout_id"
    ]
    base = f"/api/rollouts/{rollout_id}"
    wait_for(
        lambda: rollout(operator, rollout_id)["waves"][0]["state"] == "baking", timeout=60, what="baking"
    )

    assert client_for(viewer).post(f"{base}/pause/").status_code == 403
    paused = otto.post(f"{base}/pause/")
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert otto.post(f"{base}/resume/").json()["state"] == "running"
    aborted = otto.post(f"{base}/abort/")
    assert aborted.status_code == 200 and aborted.json()["rolling_back"] is True

    done = wait_ended(operator, rollout_id)
    assert done["state"] == "aborted", done
    assert done["error"] == "aborted by otto"
    assert [e["text"] for e in done["timeline"] if e["text"] in VERBS] == [
        "pause by otto",
        "resume by otto",
        "abort by otto",
    ]
    assert any(e["text"] == "rolling back (aborted by otto) on 1 servers" for e in done["timeline"])
    for triton, _server in fleet:
        assert served_version(triton.http_url) == 1
    assert otto.post(f"{base}/resume/").status_code == 400
