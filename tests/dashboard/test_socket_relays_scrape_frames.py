"""A frame the scrape task publishes reaches subscribed sockets through the real Redis layer."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from fleet import services
from fleet.demo.traffic import send_inferences
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def frame_of(ws, server_id: int) -> dict:
    # The fleet group is shared with anything else on this Redis: skip other servers' frames.
    while True:
        message = await ws.receive_json_from(timeout=10)
        if message.get("server_id") == server_id:
            return message


def test_it_relays_a_real_scrape_to_the_server_and_fleet_sockets(viewer, triton, server_for) -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    server = server_for(triton)
    services.scrape_server(server.id)  # baseline: the next scrape has rates

    server_ws = communicator(f"/ws/servers/{server.id}/", user=viewer)
    fleet_ws = communicator("/ws/fleet/", user=viewer)

    async def scenario() -> None:
        try:
            assert (await server_ws.connect())[0]
            assert (await fleet_ws.connect())[0]
            await sync_to_async(send_inferences)(server.url, "fast", 5)
            await sync_to_async(services.scrape_server)(server.id)
            frame = await frame_of(server_ws, server.id)
            assert frame["type"] == "fleet.frame"
            assert frame["status"] == "up"
            assert set(frame) == {"type", "server_id", "status", "at", "error", "values"}
            fast = [v for v in frame["values"] if v["model"] == "fast" and v["metric"] == "inferences_per_s"]
            assert fast and fast[0]["value"] > 0
            assert (await frame_of(fleet_ws, server.id))["at"] == frame["at"]
        finally:
            await server_ws.disconnect()
            await fleet_ws.disconnect()

    async_to_sync(scenario)()


def test_it_relays_a_down_frame_when_the_server_stops(viewer, triton_factory, server_for) -> None:
    process = triton_factory()
    server = server_for(process)
    services.scrape_server(server.id)
    process.kill()

    ws = communicator(f"/ws/servers/{server.id}/", user=viewer)

    async def scenario() -> None:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(services.scrape_server)(server.id)
            frame = await frame_of(ws, server.id)
            assert frame["status"] == "down"
            assert frame["values"] == []
            assert frame["error"]
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()
