"""A malformed message from the browser gets an error frame; the consumer keeps running."""

import pytest
from asgiref.sync import async_to_sync

from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_garbage_with_an_error_frame_and_keeps_serving(viewer) -> None:
    ws = communicator("/ws/fleet/", user=viewer)

    async def scenario() -> None:
        try:
            assert (await ws.connect())[0]
            for bad in ("not json", "[1, 2]", '{"type": "subscribe", "server": 1}', '{"no": "type"}', "null"):
                await ws.send_to(text_data=bad)
                answer = await ws.receive_json_from(timeout=5)
                assert answer["type"] == "error"
                assert "ping" in answer["error"]
            await ws.send_to(bytes_data=b"\x00\x01")
            assert (await ws.receive_json_from(timeout=5))["type"] == "error"
            await ws.send_json_to({"type": "ping"})
            assert await ws.receive_json_from(timeout=5) == {"type": "pong"}
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()
