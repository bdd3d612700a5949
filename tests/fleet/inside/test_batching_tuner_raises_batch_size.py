"""16 concurrent clients on a batching model: raising max_queue_delay_microseconds from
500 to 5,000 µs raises the mean formed batch size, shown in the before/after view; revert
brings the old delay back."""

from __future__ import annotations

import pytest

from fleet import services
from fleet.models import Action
from tests.actions_support import wait_action
from tests.conftest import client_for
from tests.inside_support import hammer

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = 4.0


def test_it_raises_the_mean_batch_size_and_reverts(
    viewer, operator, triton_factory, server_for, celery_worker_process
) -> None:
    triton = triton_factory(models=["fast"])
    server = server_for(triton)
    services.refresh_inventory(server)
    vera, otto = client_for(viewer), client_for(operator)
    url = f"/api/servers/{server.id}/models/fast/batching/"
    change = f"{url}change/"
    first = vera.get(url)
    assert first.status_code == 200, first.json()
    assert first.json()["settings"]["max_queue_delay_microseconds"] == 500

    hammer(triton.http_url, "fast", clients=16, seconds=SECONDS)
    response = otto.post(change, {"max_queue_delay_microseconds": 5000}, format="json")
    assert response.status_code == 202, response.json()
    action = wait_action(response.json()["action_id"])
    assert action.state == Action.State.SUCCEEDED, action.error
    assert action.kind == Action.Kind.LOAD and action.requested_by == operator
    hammer(triton.http_url, "fast", clients=16, seconds=SECONDS)

    body = vera.get(f"{url}?since=60").json()
    assert body["settings"]["max_queue_delay_microseconds"] == 5000
    compare = body["change"]["compare"]
    before, after = compare["before"], compare["after"]
    assert before["histogram"] and after["histogram"]
    assert after["mean_batch_size"] > before["mean_batch_size"], compare
    assert after["inferences_per_execution"] > before["inferences_per_execution"]
    # Equal windows, to the reading nearest the start of the "before" one.
    assert abs(before["seconds"] - after["seconds"]) < 2.0, compare

    revert = otto.post(change, {"revert": True}, format="json")
    assert revert.status_code == 202, revert.json()
    assert wait_action(revert.json()["action_id"]).state == Action.State.SUCCEEDED
    assert vera.get(url).json()["settings"]["max_queue_delay_microseconds"] == 500
