"""A socket without a signed-in session is refused, on every route."""

import pytest
from asgiref.sync import async_to_sync

from fleet.models import Server
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_an_anonymous_socket_with_4401() -> None:
    server = Server.objects.create(name="s1", url="http://127.0.0.1:9")

    async def scenario() -> None:
        for path in ("/ws/fleet/", f"/ws/servers/{server.id}/"):
            ws = communicator(path)
            try:
                connected, code = await ws.connect()
                assert (connected, code) == (False, 4401)
            finally:
                await ws.disconnect()

    async_to_sync(scenario)()
