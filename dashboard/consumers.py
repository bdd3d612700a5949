"""Websocket consumers: they only relay what the fleet publishes to a page's group.

One consumer per page topic: the fleet overview (group "fleet") and one server (group
"server-<id>", which the server and model pages share). A consumer joins its group on
connect and leaves it on disconnect; each handler is named after the event type it relays
(`fleet.frame` -> `fleet_frame`). The only message a browser may send is a ping.

Access is dashboard.access's row for the route, checked on connect and again whenever the
user logs out, is deactivated or loses a role (dashboard/signals.py sends `user.recheck` to
the group `user-<id>` every socket of that user joins), and on a timer as a backstop. The
same timer renews group membership, which the Redis layer otherwise drops after its
group_expiry (a day): a wall display stays live for weeks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest

from fleet.broadcast import FLEET_GROUP, server_group
from fleet.models import Server

from . import access
from .own_metrics import websocket_clients

log = logging.getLogger(__name__)

# Close codes in the 4000-4999 range are ours: like HTTP's 401, 403 and 404.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN = 4404
# The longest a socket goes without re-checking its session and renewing its groups.
RECHECK_SECONDS = 60.0


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class RelayConsumer(AsyncJsonWebsocketConsumer):
    """Refuses sockets the route's access rule refuses, joins `self.group`, relays fleet events."""

    route: str = ""  # its name in dashboard/routing.py and row in dashboard.access.ACCESS
    group: str | None = None
    joined: list[str]
    renewal: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.joined = []
        code = await self.refusal(self.scope.get("user"))
        if code is not None:
            await self.close(code=code)
            return
        group = await self.group_for_scope()
        if group is None:
            await self.close(code=CLOSE_UNKNOWN)
            return
        self.group = group
        self.joined = [group, user_group(self.scope["user"].pk)]
        for name in self.joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()
        websocket_clients.inc()
        self.renewal = asyncio.create_task(self.renew())

    async def group_for_scope(self) -> str | None:
        """The group this socket listens to, or None to refuse it."""
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        if self.renewal is not None:
            self.renewal.cancel()
        if self.group is not None:
            websocket_clients.dec()
        for name in self.joined:
            await self.channel_layer.group_discard(name, self.channel_name)

    @database_sync_to_async
    def refusal(self, user: Any) -> int | None:
        code = access.refusal(access.ACCESS.get(self.route), user, "GET")
        return {401: CLOSE_UNAUTHENTICATED, 403: CLOSE_FORBIDDEN}.get(code) if code else None

    @database_sync_to_async
    def current_user(self) -> Any:
        """The socket's user as the session store has it now (anonymous once logged out)."""
        request = HttpRequest()
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore(self.scope["session"].session_key)
        return auth.get_user(request)

    async def recheck(self) -> bool:
        """Close the socket if its user may no longer use the route; whether it stays open."""
        user = await self.current_user()
        if user.pk != self.scope["user"].pk:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        code = await self.refusal(user)
        if code is not None:
            await self.close(code=code)
            return False
        return True

    def renew_seconds(self) -> float:
        # Well within group_expiry, so a membership never lapses between two renewals.
        return min(getattr(self.channel_layer, "group_expiry", 86400) / 4, RECHECK_SECONDS)

    async def renew(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds())
            try:
                if not await self.recheck():
                    return
                for name in self.joined:
                    await self.channel_layer.group_add(name, self.channel_name)
            except Exception:  # Redis or the database away: try again next round
                log.warning("websocket renewal failed; retrying", exc_info=True)

    async def user_recheck(self, event: dict[str, Any]) -> None:
        """The user logged out, was changed, deactivated or lost a role (dashboard/signals.py)."""
        ended = event.get("ended_session")
        if ended and ended == self.scope["session"].session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.recheck()

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

    route = "ws-fleet"

    async def group_for_scope(self) -> str | None:
        return FLEET_GROUP


class ServerConsumer(RelayConsumer):
    """ws/servers/<id>/: frames of one server, for its server and model pages."""

    route = "ws-server"

    async def group_for_scope(self) -> str | None:
        server_id = self.scope["url_route"]["kwargs"]["server_id"]
        exists = await database_sync_to_async(Server.objects.filter(id=server_id).exists)()
        return server_group(server_id) if exists else None
