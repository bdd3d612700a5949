"""A batching change Triton refuses leaves the old config serving; the action shows why."""

from __future__ import annotations

import pytest

from fleet import services
from fleet.demo.traffic import send_inferences
from fleet.models import Action
from tests.actions_support import wait_action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_the_old_config_and_shows_tritons_error(
    viewer, operator, triton_factory, server_for, celery_worker_process
) -> None:
    triton = triton_factory(models=["fast"])
    server = server_for(triton)
    services.refresh_inventory(server)
    url = f"/api/servers/{server.id}/models/fast/batching/"

    before = client_for(viewer).get(url).json()["settings"]
    # A preferred batch size above max_batch_size (8): Triton refuses the config.
    response = client_for(operator).post(f"{url}change/", {"preferred_batch_size": [64]}, format="json")
    assert response.status_code == 202, response.json()
    action = wait_action(response.json()["action_id"])

    assert action.state == Action.State.FAILED
    assert "failed to load 'fast'" in action.error, action.error  # Triton's own words
    send_inferences(triton.http_url, "fast", 3)  # still serving
    body = client_for(viewer).get(url).json()
    assert body["settings"] == before and 64 not in before["preferred_batch_size"]
    assert body["change"]["state"] == "failed" and body["change"]["error"] == action.error
    assert client_for(viewer).post(f"{url}change/", {"revert": True}, format="json").status_code == 403


def test_it_refuses_a_viewer_and_an_empty_change(viewer, operator, scraped) -> None:
    url = f"/api/servers/{scraped.id}/models/fast/batching/change/"
    assert (
        client_for(viewer).post(url, {"max_queue_delay_microseconds": 10}, format="json").status_code == 403
    )
    empty = client_for(operator).post(url, {}, format="json")
    assert empty.status_code == 400 and empty.json()["code"] == "invalid"
