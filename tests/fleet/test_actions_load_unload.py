"""Load and unload through the API with a real worker: Triton's index follows, and the
action records Triton's answer and the load duration."""

import pytest

from fleet import services
from fleet.models import Action, ModelVersion
from tests.actions_support import index_rows, wait_action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_loads_then_unloads_a_model(operator, triton_factory, server_for, celery_worker_process) -> None:
    triton = triton_factory()
    server = server_for(triton)
    services.refresh_inventory(server)
    otto = client_for(operator)
    base = f"/api/servers/{server.id}/models/longtail"

    response = otto.post(f"{base}/load/", {}, format="json")
    assert response.status_code == 202, response.json()
    load = wait_action(response.json()["action_id"])
    assert load.state == Action.State.SUCCEEDED, load.error
    assert load.started_at and load.finished_at and load.started_at <= load.finished_at
    assert load.load_duration_s and load.load_duration_s > 0
    assert "READY versions" in load.result
    assert [r.get("state") for r in index_rows(triton.http_url, "longtail")] == ["READY"]
    # The dashboard's mirror was refreshed before the action ended.
    assert ModelVersion.objects.get(server=server, name="longtail", version="1").state == "READY"

    # It served no traffic: no confirmation needed.
    unload = wait_action(otto.post(f"{base}/unload/", {}, format="json").json()["action_id"])
    assert unload.state == Action.State.SUCCEEDED, unload.error
    assert [r.get("state") for r in index_rows(triton.http_url, "longtail")] == ["UNAVAILABLE"]

    # The estimate for the next load comes from the past one.
    again = otto.post(f"{base}/load/", {}, format="json").json()["action_id"]
    assert otto.get(f"/api/actions/{again}/").json()["estimate_s"] == pytest.approx(
        load.load_duration_s, abs=0.01
    )
    wait_action(again)
