"""Promote and roll back through the API, run by a real worker against a real Triton:
which version answers changes, and the index shows only the promoted version."""

import pytest

from fleet import services
from fleet.models import Action
from tests.actions_support import index_rows, served_version, wait_action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_promotes_and_rolls_back_the_served_version(
    operator, triton_factory, server_for, celery_worker_process
) -> None:
    triton = triton_factory()
    server = server_for(triton)
    services.refresh_inventory(server)
    otto = client_for(operator)
    base = f"/api/servers/{server.id}/models/versioned"
    assert served_version(triton.http_url) == 3

    response = otto.post(f"{base}/promote/", {"version": 1}, format="json")
    assert response.status_code == 202, response.json()
    first = wait_action(response.json()["action_id"])
    assert first.state == Action.State.SUCCEEDED, first.error
    assert served_version(triton.http_url) == 1
    assert [
        (r["version"], r["state"]) for r in index_rows(triton.http_url, "versioned") if r.get("state")
    ] == [
        ("1", "READY"),
        ("3", "UNAVAILABLE"),
    ]
    assert first.parameters["previous_policy"] == {"latest": {"num_versions": 1}}
    assert first.parameters["previous_versions"] == ["3"]
    assert first.load_duration_s and first.load_duration_s > 0

    second = wait_action(otto.post(f"{base}/promote/", {"version": 3}, format="json").json()["action_id"])
    assert second.state == Action.State.SUCCEEDED, second.error
    assert served_version(triton.http_url) == 3

    # Rollback restores what served before the *last* promotion: version 1.
    response = otto.post(f"{base}/rollback/", {}, format="json")
    assert response.status_code == 202, response.json()
    rollback = wait_action(response.json()["action_id"])
    assert rollback.state == Action.State.SUCCEEDED, rollback.error
    assert rollback.parameters["promotion"] == second.id
    assert served_version(triton.http_url) == 1

    detail = otto.get(f"/api/actions/{rollback.id}/").json()
    assert detail["state"] == "succeeded"
    assert detail["requested_by"] == "otto"
    assert detail["kind"] == "rollback"
