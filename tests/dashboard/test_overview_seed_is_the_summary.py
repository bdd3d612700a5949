"""The overview page's seed holds each server's summary exactly as the fleet socket sent it:
one wire format (fleet.frames.ServerSummary) for the frame and the page."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from fleet import services
from fleet.demo.traffic import send_inferences
from tests.dashboard.sockets import communicator, private_layer, receive_until  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_layer")]


def seed(user) -> dict:
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.context["page"]


def test_it_seeds_the_overview_with_the_summaries_the_socket_sends(
    viewer,
    triton,
    triton_factory,
    server_for,
) -> None:
    up = server_for(triton)
    stopped = triton_factory(models=["fast"], name="triton-stopped")
    down = server_for(stopped)
    services.scrape_server(up.id)
    services.scrape_server(down.id)
    stopped.kill()
    ws = communicator("/ws/fleet/", user=viewer)

    async def scenario() -> dict[int, dict]:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(send_inferences)(up.url, "fast", 10)
            frames = {}
            for server in (up, down):
                await sync_to_async(services.scrape_server)(server.id)
                (frames[server.id],) = await receive_until(ws, lambda m: True)
            return frames
        finally:
            await ws.disconnect()

    frames = async_to_sync(scenario)()
    assert frames[up.id]["status"] == "up" and frames[down.id]["status"] == "down"
    page = seed(viewer)
    seeded = {s["server_id"]: s for s in page["servers"]}
    for server_id, frame in frames.items():
        del frame["type"]
        assert seeded[server_id] == frame
    # What the page embeds is that object, as JSON (json_script), not a second rendering of it.
    assert json.loads(json.dumps(seeded[up.id])) == frames[up.id]
