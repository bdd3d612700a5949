"""Bad requests are refused with a message before anything is enqueued, and names that are
not plain model names before any call to Triton."""

import pytest

from fleet import services
from fleet.demo.traffic import send_inferences
from fleet.models import Action, Server
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(triton, server_for):
    server = server_for(triton)
    services.refresh_inventory(server)
    return server


@pytest.mark.parametrize("name", ["a..b", "..", ".hidden", "x%y", "a b"])
def test_it_refuses_names_that_are_not_plain_before_asking_triton(operator, name) -> None:
    # Nothing listens on port 9: any call to Triton would record an error on the server.
    ghost = Server.objects.create(name="ghost", url="http://127.0.0.1:9")
    response = client_for(operator).post(f"/api/servers/{ghost.id}/models/{name}/load/", {}, format="json")
    assert response.status_code == 400
    assert "plain model name" in str(response.json())
    assert Server.objects.get(id=ghost.id).last_error == ""
    assert not Action.objects.exists()


def test_it_does_not_route_names_with_a_slash(operator, server) -> None:
    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/a%2F..%2Fb/load/", {}, format="json"
    )
    assert response.status_code == 404
    assert not Action.objects.exists()


@pytest.mark.parametrize("body", [{}, {"version": 0}, {"version": -2}, {"version": "three"}])
def test_it_refuses_a_promotion_without_a_valid_version(operator, server, body) -> None:
    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/versioned/promote/", body, format="json"
    )
    assert response.status_code == 400
    assert "version" in str(response.json())
    assert not Action.objects.exists()


def test_it_refuses_a_rollback_with_no_promotion_to_undo(operator, server) -> None:
    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/versioned/rollback/", {}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "nothing to roll back" in response.json()["detail"]


def test_it_asks_to_confirm_unloading_a_model_that_served_traffic(operator, server) -> None:
    send_inferences(server.url, "fast", 1)
    otto = client_for(operator)
    url = f"/api/servers/{server.id}/models/fast/unload/"
    response = otto.post(url, {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "confirm_required"
    assert "confirm" in response.json()["detail"]
    assert not Action.objects.exists()
    # Confirmed, it is accepted (and, the test transaction never committing, never run).
    assert otto.post(url, {"confirm": True}, format="json").status_code == 202


def test_it_refuses_a_second_request_while_one_is_queued(operator, admin, server) -> None:
    url = f"/api/servers/{server.id}/models/longtail/load/"
    first = client_for(operator).post(url, {}, format="json")
    second = client_for(admin).post(url, {}, format="json")
    assert (first.status_code, second.status_code) == (202, 409)
    assert f"#{first.json()['action_id']}" in second.json()["detail"]
    assert "otto" in second.json()["detail"]
