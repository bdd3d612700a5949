"""A load that fails ends the action failed with Triton's own error text, and the version
that was serving keeps serving."""

import pytest

from fleet import services
from fleet.models import Action
from tests.actions_support import add_model, demo_copy, served_version, wait_action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fragile_triton(tmp_path, triton_factory):
    """`fragile` serves v1 (its config pins it); v2 raises in initialize; `garbled` has a
    config.pbtxt Triton cannot parse."""
    repo = demo_copy(tmp_path)
    add_model(
        repo, "fragile", {1: "ok", 2: "broken"}, extra="version_policy: { specific: { versions: [ 1 ] } }"
    )
    add_model(repo, "garbled", {1: "ok"}, config='name: "garbled"\nbackend: "python"\ninput [ { oops')
    return triton_factory(repo, models=["fragile"])


def test_it_fails_a_promotion_to_a_broken_version_and_keeps_serving_the_old(
    operator, fragile_triton, server_for, celery_worker_process
) -> None:
    server = server_for(fragile_triton)
    services.refresh_inventory(server)
    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/fragile/promote/", {"version": 2}, format="json"
    )
    assert response.status_code == 202, response.json()
    action = wait_action(response.json()["action_id"])
    assert action.state == Action.State.FAILED
    assert "fragile v2 cannot start: weights missing" in action.error  # Triton's text, passed on
    assert served_version(fragile_triton.http_url, "fragile") == 1


def test_it_fails_a_promotion_to_a_version_not_in_the_repository(
    operator, fragile_triton, server_for, celery_worker_process
) -> None:
    server = server_for(fragile_triton)
    services.refresh_inventory(server)
    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/fragile/promote/", {"version": 9}, format="json"
    )
    action = wait_action(response.json()["action_id"])
    assert action.state == Action.State.FAILED
    assert "at least one version must be available" in action.error
    assert served_version(fragile_triton.http_url, "fragile") == 1


def test_it_fails_loading_a_model_with_a_bad_config(
    operator, fragile_triton, server_for, celery_worker_process
) -> None:
    server = server_for(fragile_triton)
    services.refresh_inventory(server)
    response = client_for(operator).post(f"/api/servers/{server.id}/models/garbled/load/", {}, format="json")
    action = wait_action(response.json()["action_id"])
    assert action.state == Action.State.FAILED
    assert "garbled" in action.error and action.error.strip()
    assert served_version(fragile_triton.http_url, "fragile") == 1
