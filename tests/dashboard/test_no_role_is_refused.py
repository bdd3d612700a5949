"""A signed-in user with no FleetDeck role (no viewer, operator or admin group) sees nothing:
pages, API reads and sockets all answer 403, the pages saying why."""

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from fleet.models import Action, ModelVersion, Server
from tests.conftest import client_for
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server() -> Server:
    # A name no random token (the page's CSRF token) can contain by chance.
    server = Server.objects.create(name="secret-server-name", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="fast", version="1", state="READY")
    Action.objects.create(kind=Action.Kind.LOAD, server=server, model="fast", state=Action.State.SUCCEEDED)
    return server


def test_it_refuses_every_page_with_a_message(no_role, server) -> None:
    client = Client()
    client.force_login(no_role)
    for path in ("/", f"/servers/{server.id}/", f"/servers/{server.id}/models/fast/", "/audit/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert b"no FleetDeck role; ask an admin" in response.content
        assert b"secret-server-name" not in response.content


def test_it_refuses_every_api_read(no_role, server) -> None:
    client = client_for(no_role)
    action = Action.objects.get()
    for path in (
        "/api/servers/",
        f"/api/servers/{server.id}/models/",
        f"/api/servers/{server.id}/series/?metric=requests_per_s&model=fast",
        "/api/actions/",
        f"/api/actions/{action.id}/",
        "/api/schema/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert b"no FleetDeck role" in response.content, path


def test_it_refuses_sockets_with_4403(no_role, server) -> None:
    sockets = [communicator(path, user=no_role) for path in ("/ws/fleet/", f"/ws/servers/{server.id}/")]

    async def scenario() -> None:
        for ws in sockets:
            try:
                assert await ws.connect() == (False, 4403)
            finally:
                await ws.disconnect()

    async_to_sync(scenario)()


def test_it_lets_the_same_user_in_once_given_a_role(no_role, server) -> None:
    from django.contrib.auth.models import Group

    no_role.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client = Client()
    client.force_login(no_role)
    assert client.get("/").status_code == 200
    assert client_for(no_role).get("/api/servers/").status_code == 200
