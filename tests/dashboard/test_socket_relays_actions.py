"""Control-plane events (`fleet.action`) published to a server's group reach its sockets."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from fleet.broadcast import FLEET_GROUP, broadcast, server_group
from fleet.models import Server
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_relays_action_events_unchanged(viewer) -> None:
    server = Server.objects.create(name="s-actions", url="http://127.0.0.1:9")
    payload = {"server": server.id, "id": 7, "model": "fast", "state": "succeeded"}

    ws = communicator(f"/ws/servers/{server.id}/", user=viewer)

    async def scenario() -> None:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(broadcast)([server_group(server.id), FLEET_GROUP], "fleet.action", payload)
            assert await ws.receive_json_from(timeout=10) == {"type": "fleet.action", **payload}
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()
