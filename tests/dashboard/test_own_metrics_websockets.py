"""/metrics counts the websocket clients connected to this web process."""

import pytest
from asgiref.sync import async_to_sync
from prometheus_client import REGISTRY

from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def clients() -> float:
    return REGISTRY.get_sample_value("fleetdeck_websocket_clients") or 0.0


def test_it_counts_sockets_up_on_connect_and_down_on_disconnect(viewer) -> None:
    before = clients()
    seen: list[float] = []
    sockets = [communicator("/ws/fleet/", viewer), communicator("/ws/fleet/", None)]

    async def scenario() -> None:
        try:
            assert (await sockets[0].connect())[0] is True
            assert (await sockets[1].connect())[0] is False  # refused: not counted
            seen.append(clients())
        finally:
            for ws in sockets:
                await ws.disconnect()
        seen.append(clients())

    async_to_sync(scenario)()
    assert seen == [before + 1, before]
