"""A subscription to a server that does not exist is refused."""

import pytest
from asgiref.sync import async_to_sync

from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_an_unknown_server_with_4404(viewer) -> None:
    ws = communicator("/ws/servers/987654/", user=viewer)

    async def scenario() -> None:
        try:
            assert await ws.connect() == (False, 4404)
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()
