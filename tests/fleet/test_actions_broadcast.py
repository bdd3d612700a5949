"""Every state change of an action is pushed as `fleet.action` to the server's group and the
fleet group; a running action carries its elapsed time and the estimate."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from fleet import services
from fleet.broadcast import FLEET_GROUP, server_group
from fleet.control import record, requests, runner
from fleet.models import Action
from tests.conftest import _actor

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_broadcasts_each_state_change(triton_factory, server_for) -> None:
    triton = triton_factory()
    server = server_for(triton)
    services.refresh_inventory(server)
    layer = get_channel_layer()
    groups = [FLEET_GROUP, server_group(server.id)]

    async def join() -> list[str]:
        channels = [await layer.new_channel() for _ in groups]
        for group, channel in zip(groups, channels, strict=True):
            await layer.group_add(group, channel)
        return channels

    async def drain(channels: list[str]) -> list[list[dict]]:
        # One event loop for all receives: channels_redis buffers per loop.
        received = []
        for group, channel in zip(groups, channels, strict=True):
            messages: list[dict] = []
            while not messages or messages[-1]["state"] != "succeeded":
                message = await asyncio.wait_for(layer.receive(channel), timeout=10)
                if message["type"] == "fleet.action":  # the fleet group also carries frames
                    messages.append(message)
            await layer.group_discard(group, channel)
            received.append(messages)
        return received

    channels = async_to_sync(join)()
    action = requests.request_action(server, "longtail", Action.Kind.LOAD, _actor("otto", "operator"))
    record.publish(action.id)  # what _enqueue does after the commit
    runner.run_action(action.id)
    for messages in async_to_sync(drain)(channels):
        assert {m["type"] for m in messages} == {"fleet.action"}
        assert {(m["id"], m["model"], m["server"]) for m in messages} == {(action.id, "longtail", server.id)}
        states = [m["state"] for m in messages]
        assert [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s] == [
            "queued",
            "running",
            "succeeded",
        ]
        running = next(m for m in messages if m["state"] == "running")
        assert running["elapsed_s"] is not None and "estimate_s" in running
        assert messages[-1]["load_duration_s"] > 0
