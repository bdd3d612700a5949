"""A socket keeps getting frames long after the Redis layer's group_expiry (a day by default):
its consumer renews its membership well within it. Here the expiry is 2 s and the socket is
still fed after three times that. The socket idles meanwhile: longer than redis-py 8's default
5 s socket timeout, which used to end the layer's blocking receive (settings.CHANNEL_LAYERS)."""

import asyncio
import copy
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from fleet.broadcast import FLEET_GROUP
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_still_relays_frames_after_three_group_expiries(viewer, settings) -> None:
    layer: dict[str, Any] = copy.deepcopy(django_settings.CHANNEL_LAYERS["default"])
    layer["CONFIG"]["group_expiry"] = 2
    settings.CHANNEL_LAYERS = {"default": layer}  # channels builds a new layer on this change
    ws = communicator("/ws/fleet/", user=viewer)

    async def scenario() -> None:
        try:
            assert (await ws.connect())[0]
            await asyncio.sleep(6.5)
            await get_channel_layer().group_send(FLEET_GROUP, {"type": "fleet.frame", "server_id": -1})
            while (message := await ws.receive_json_from(timeout=5))["server_id"] != -1:
                pass  # other servers' frames from elsewhere on this Redis
            assert message == {"type": "fleet.frame", "server_id": -1}
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()
