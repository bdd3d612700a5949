"""Websocket consumers: they only relay what the fleet publishes to a page's group.

One consumer per page topic: the fleet overview (group "fleet") and one server (group
"server-<id>", which the server and model pages share). A consumer joins its group on
connect and leaves it on disconnect; each handler is named after the event type it relays
(`fleet.frame` -> `fleet_frame`). The only message a browser may send is a ping.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from fleet.broadcast import FLEET_GROUP, server_group
from fleet.models import Server

from .own_metrics import websocket_clients

# Close codes in the 4000-4999 range are ours: like HTTP's 401 and 404.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_UNKNOWN = 4404


class RelayConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous sockets, joins `self.group`, relays fleet events as they come."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        group = await self.group_for_scope()
        if group is None:
            await self.close(code=CLOSE_UNKNOWN)
            return
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        websocket_clients.inc()

    async def group_for_scope(self) -> str | None:
        """The group this socket listens to, or None to refuse it."""
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            websocket_clients.dec()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # Parsed here rather than by receive_json: a malformed message must get an error
        # frame, not end the consumer with a decode exception.
        try:
            message = json.loads(text_data) if text_data is not None else None
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send_json({"type": "pong"})
            return
        await self.send_json({"type": "error", "error": 'the only message accepted is {"type": "ping"}'})

    async def fleet_frame(self, event: dict[str, Any]) -> None:
        """One scrape of one server: {type, server_id, status, at, error, values}."""
        await self.send_json(event)

    async def fleet_action(self, event: dict[str, Any]) -> None:
        """A control-plane action changed state (published by fleet's action service)."""
        await self.send_json(event)


class FleetConsumer(RelayConsumer):
    """ws/fleet/: frames of every server, for the overview."""

    async def group_for_scope(self) -> str | None:
        return FLEET_GROUP


class ServerConsumer(RelayConsumer):
    """ws/servers/<id>/: frames of one server, for its server and model pages."""

    async def group_for_scope(self) -> str | None:
        server_id = self.scope["url_route"]["kwargs"]["server_id"]
        exists = await database_sync_to_async(Server.objects.filter(id=server_id).exists)()
        return server_group(server_id) if exists else None
