"""Every control endpoint × anonymous/viewer/operator/admin/superuser, in normal and read-only
mode; the gate checks in the order read-only → unknown server → role → unknown model.
Nothing is enqueued here (the test transaction never commits), so the shared Triton is
only read."""

import pytest
from django.contrib.auth.models import User

from fleet import services
from fleet.models import Action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "load": {},
    "unload": {"confirm": True},
    "promote": {"version": 1},
    "rollback": {},
}
# Anonymous callers are refused before any check (401), so nothing about the fleet leaks.
EXPECTED = {"anonymous": 401, "viewer": 403, "operator": 202, "admin": 202, "superuser": 202}
EXPECTED_READ_ONLY = {"anonymous": 401, "viewer": 403, "operator": 403, "admin": 403, "superuser": 403}


@pytest.fixture
def fleet_server(triton, server_for):
    server = server_for(triton)
    services.refresh_inventory(server)
    # A finished promotion, so that a rollback has something to restore.
    Action.objects.create(
        kind=Action.Kind.PROMOTE,
        server=server,
        model="versioned",
        state=Action.State.SUCCEEDED,
        parameters={
            "version": 3,
            "previous_policy": {"latest": {"num_versions": 1}},
            "previous_versions": ["3"],
        },
    )
    return server


@pytest.fixture
def actor(request):
    name = request.param
    if name == "anonymous":
        return None
    if name == "superuser":
        return User.objects.create_superuser("root", password="pw-root")
    return request.getfixturevalue(name)


@pytest.mark.parametrize("read_only", [False, True], ids=["normal", "read-only"])
@pytest.mark.parametrize("actor", list(EXPECTED), indirect=True)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_it_answers_each_actor_per_role(fleet_server, actor, endpoint, read_only, settings, request) -> None:
    settings.FLEET_READ_ONLY = read_only
    name = request.node.callspec.params["actor"]
    response = client_for(actor).post(
        f"/api/servers/{fleet_server.id}/models/versioned/{endpoint}/", ENDPOINTS[endpoint], format="json"
    )
    expected = (EXPECTED_READ_ONLY if read_only else EXPECTED)[name]
    assert response.status_code == expected, response.content
    queued = Action.objects.filter(state=Action.State.QUEUED)
    if expected == 202:
        assert response.json()["action_id"] == queued.get().id
        assert queued.get().requested_by == actor
    else:
        assert not queued.exists()
    if read_only and actor is not None:
        assert "read-only" in response.json()["detail"]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("who", ["viewer", "operator"])
def test_it_answers_404_for_an_unknown_server_before_checking_the_role(
    fleet_server, endpoint, who, request
) -> None:
    client = client_for(request.getfixturevalue(who))
    body = ENDPOINTS[endpoint]
    assert (
        client.post(f"/api/servers/999999/models/versioned/{endpoint}/", body, format="json").status_code
        == 404
    )


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("who, status", [("viewer", 403), ("operator", 404)])
def test_it_answers_an_unknown_model_after_checking_the_role(
    fleet_server, endpoint, who, status, request
) -> None:
    client = client_for(request.getfixturevalue(who))
    missing = client.post(
        f"/api/servers/{fleet_server.id}/models/nosuch/{endpoint}/", ENDPOINTS[endpoint], format="json"
    )
    assert missing.status_code == status
    assert ("nosuch" in missing.json()["detail"]) == (who == "operator")


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("viewer", 200), ("operator", 200)])
def test_it_lets_any_signed_in_user_read_actions(fleet_server, who, status, request) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)
    action = Action.objects.get()
    assert client_for(user).get("/api/actions/").status_code == status
    assert client_for(user).get(f"/api/actions/{action.id}/").status_code == status
