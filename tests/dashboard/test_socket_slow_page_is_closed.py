"""A page that stops reading is closed with CLOSE_BEHIND (its script reconnects and fills the
gap from the API) once a frame it has not acknowledged is `behind_seconds` old; a page beside
it that keeps reading gets every frame, in order, and stays open. A client that never
acknowledges anything is not judged by the rule (MOST_QUEUED and the server's ping timeout are its bounds)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard.consumers import CLOSE_BEHIND, RelayConsumer
from fleet.broadcast import FLEET_GROUP
from tests.dashboard.sockets import communicator, private_layer  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_layer")]

FRAMES = 30
EVERY = 0.1  # seconds between frames: 3 s of them


def test_it_closes_a_page_that_falls_behind_and_keeps_feeding_the_others(
    viewer,
    monkeypatch,
) -> None:
    monkeypatch.setattr(RelayConsumer, "behind_seconds", 1.0)
    slow = communicator("/ws/fleet/", user=viewer)
    reader = communicator("/ws/fleet/", user=viewer)
    unaware = communicator("/ws/fleet/", user=viewer)

    async def read_all(got: list[int]) -> None:
        while len(got) < FRAMES:
            message = await reader.receive_json_from(timeout=10)
            got.append(message["n"])
            await reader.send_json_to({"type": "ack", "received": len(got)})

    async def scenario() -> tuple[list[int], dict]:
        try:
            assert (await slow.connect())[0]
            assert (await reader.connect())[0]
            assert (await unaware.connect())[0]
            await slow.send_json_to({"type": "ack", "received": 0})
            got: list[int] = []
            reading = asyncio.create_task(read_all(got))
            layer = get_channel_layer()
            for n in range(FRAMES):
                await layer.group_send(FLEET_GROUP, {"type": "fleet.summary", "server_id": -1, "n": n})
                await asyncio.sleep(EVERY)
            await asyncio.wait_for(reading, timeout=10)
            # The slow page's queue: what was sent before it fell behind, then the close.
            output = []
            while (event := await slow.receive_output(timeout=5))["type"] != "websocket.close":
                output.append(event)
            assert (await reader.receive_nothing(timeout=0.5)) is True  # still open, nothing odd
            unaware_got = [(await unaware.receive_json_from(timeout=5))["n"] for _ in range(FRAMES)]
            assert unaware_got == list(range(FRAMES))
            assert (await unaware.receive_nothing(timeout=0.5)) is True  # no close
            return got, {"sent": len(output), "close": event}
        finally:
            for ws in (slow, reader, unaware):
                await ws.disconnect()

    got, slow_seen = async_to_sync(scenario)()
    assert got == list(range(FRAMES))
    assert slow_seen["close"]["code"] == CLOSE_BEHIND
    # Closed about a second after its first unread frame, not at the end of the run.
    assert 0 < slow_seen["sent"] < FRAMES
