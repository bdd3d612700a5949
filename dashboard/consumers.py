"""Websocket consumers: they only relay what the fleet publishes to a page's group.

One consumer per page, joined to the one group that carries what the page draws
(fleet.frames): the overview to "fleet" (server summaries), a server page to "server-<id>"
(its models' table values and its own panels), a model page to its model's group (that
model's values from every server). A consumer joins its group on connect and leaves it on
disconnect, through the web process's one listener of that group (dashboard/fanout.py),
which hands each event of the group (`fleet.frame`, `fleet.summary`, `fleet.action`,
`fleet.alert`, `fleet.deployment`, `fleet.rollout`) to the relay of every local socket of
the group, as it is. A browser may send a ping, and acknowledges what it has read.

A page that cannot keep up (a starved tab, a slow link) is closed with CLOSE_BEHIND once a
frame it has not acknowledged is BEHIND_SECONDS old; it reconnects and fills the gap from
the API, so it shows fresh data instead of an ever older queue. The rule applies to a
socket once it has acknowledged something (the pages' script always does), so a client
that knows nothing of acknowledgements is not cut off. The relay never waits on a client:
the HTTP server's send waits while a client's buffer is full (uvicorn's does), so each
socket has its own queue and a sender task that runs only while the queue holds something;
one slow socket costs no other socket anything but its own queue, bounded by this rule for
pages and by MOST_QUEUED frames for any client (past it, nothing more is queued for it and
it is closed once it reads again; the server's ping timeout ends one that has gone away).

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
import time
from collections import deque
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest

from fleet.alerting.notify import ALERTS_GROUP
from fleet.broadcast import FLEET_GROUP, model_group, server_group
from fleet.models import ModelVersion, Series, Server

from . import access
from .fanout import fanout_for
from .own_metrics import websocket_clients

log = logging.getLogger(__name__)

# Close codes in the 4000-4999 range are ours: like HTTP's 401, 403 and 404.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN = 4404
# The page fell behind: reconnect and fill the gap (static/dashboard/live.js).
CLOSE_BEHIND = 4408
BEHIND_SECONDS = 10.0
# Frames queued for one socket and not yet taken by the server (which holds ~64 KiB more):
# 25 s of a server page at 10 frames/s. The texts are shared with the other sockets.
MOST_QUEUED = 256
_ENCODED = "__fleetdeck_json"
ACCEPTED = 'the messages accepted are {"type": "ping"} and {"type": "ack", "received": <frames read>}'
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
    behind_seconds = BEHIND_SECONDS
    relayed = 0  # frames sent on this socket
    # When each frame the page has not acknowledged was sent (bounded: a client that never
    # acknowledges is judged only by what is kept).
    unacked: deque[float]
    acknowledging = False  # the client has sent an ack: it is judged by them
    behind = False
    opened = False  # accepted: frames may be sent
    early: list[dict[str, Any]]  # frames handed over by the group's listener before that
    outbox: deque[str | int]  # texts, then perhaps a close code, for `sender` to send in order
    sender: asyncio.Task[None] | None = None  # running while `outbox` holds something

    async def connect(self) -> None:
        self.joined = []
        self.unacked = deque(maxlen=4096)
        self.outbox = deque()
        code = await self.refusal(self.scope.get("user"))
        if code is not None:
            await self.close(code=code)
            return
        group = await self.group_for_scope()
        if group is None:
            await self.close(code=CLOSE_UNKNOWN)
            return
        self.group = group
        # The page's group through this process's one listener of it (dashboard/fanout.py);
        # the user's group, which carries only what is addressed to this user, on our own
        # channel. Both before accept, so nothing published meanwhile is missed.
        self.joined = [user_group(self.scope["user"].pk)]
        self.early = []
        await self.channel_layer.group_add(self.joined[0], self.channel_name)
        await fanout_for(self.channel_layer).join(group, self)
        await self.accept()
        self.opened = True
        for event in self.early:  # frames the listener handed over before the accept
            await self.relay(event)
        self.early = []
        websocket_clients.inc()
        self.renewal = asyncio.create_task(self.renew())

    async def group_for_scope(self) -> str | None:
        """The group this socket listens to, or None to refuse it."""
        raise NotImplementedError

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler, a hop to a
        # thread each time; reading a ping or an ack (one a second from every page: 5 % of
        # the web process's time at 200 sockets) touches no database. (Frames never come
        # this way: the group's listener calls `relay` directly.)
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # No spaces after separators: a tenth of a summary's bytes, on every socket.
        return json.dumps(content, separators=(",", ":"))

    async def disconnect(self, code: int) -> None:
        if self.renewal is not None:
            self.renewal.cancel()
        if self.sender is not None:
            self.sender.cancel()
        if self.group is not None:
            websocket_clients.dec()
            await fanout_for(self.channel_layer).leave(self.group, self)
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
                if self.group is not None:
                    await fanout_for(self.channel_layer).renew(self.group)
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
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind == "ack" and self.acknowledge(message.get("received")):  # type: ignore[union-attr]
            return
        await self.send_json({"type": "error", "error": ACCEPTED})

    def acknowledge(self, received: Any) -> bool:
        """The page has read `received` of the frames this socket relayed."""
        if isinstance(received, bool) or not isinstance(received, int) or not 0 <= received <= self.relayed:
            return False
        while len(self.unacked) > self.relayed - received:
            self.unacked.popleft()
        self.acknowledging = True
        return True

    async def relay(self, event: dict[str, Any]) -> None:
        """Queue a frame for this socket, unless the page is BEHIND_SECONDS behind or
        MOST_QUEUED frames wait already: then queue a close instead. Never waits."""
        if self.behind:
            return
        if not self.opened:
            self.early.append(event)
            return
        now = time.monotonic()
        late = self.acknowledging and self.unacked and now - self.unacked[0] > self.behind_seconds
        if late or len(self.outbox) >= MOST_QUEUED:
            self.behind = True
            log.info("websocket %s closed: %d frames unread", self.scope["path"], len(self.unacked))
            self.outbox.clear()  # a page reconnects and reads the gap from the API
            self._post(CLOSE_BEHIND)
            return
        # Every socket of this process gets the same event object from the channel layer:
        # encoded once, kept on it.
        text = event.get(_ENCODED)
        if text is None:
            text = event[_ENCODED] = await self.encode_json(event)
        self._post(text)
        self.relayed += 1
        self.unacked.append(now)

    def _post(self, item: str | int) -> None:
        self.outbox.append(item)
        if self.sender is None:
            self.sender = asyncio.create_task(self._send_queued())

    async def _send_queued(self) -> None:
        try:
            while self.outbox:
                item = self.outbox.popleft()
                if isinstance(item, int):
                    await self.close(code=item)
                else:
                    await self.send(text_data=item)
        except Exception:  # the client is gone: the server's disconnect ends the consumer
            log.debug("websocket %s: send failed", self.scope["path"], exc_info=True)
            self.outbox.clear()
        finally:
            self.sender = None


class FleetConsumer(RelayConsumer):
    """ws/fleet/: every server's summary, for the overview."""

    route = "ws-fleet"

    async def group_for_scope(self) -> str | None:
        return FLEET_GROUP


class AlertsConsumer(RelayConsumer):
    """ws/alerts/: every alert's changes, for the banner on every page and the alerts page."""

    route = "ws-alerts"

    async def group_for_scope(self) -> str | None:
        return ALERTS_GROUP


class ServerConsumer(RelayConsumer):
    """ws/servers/<id>/: what one server's page draws of each scrape."""

    route = "ws-server"

    async def group_for_scope(self) -> str | None:
        server_id = self.scope["url_route"]["kwargs"]["server_id"]
        exists = await database_sync_to_async(Server.objects.filter(id=server_id).exists)()
        return server_group(server_id) if exists else None


class ModelConsumer(RelayConsumer):
    """ws/servers/<id>/models/<name>/: one model's values from every server that has it, for
    its model page on that server (which compares it across the fleet)."""

    route = "ws-model"

    async def group_for_scope(self) -> str | None:
        kwargs = self.scope["url_route"]["kwargs"]
        server_id, name = int(kwargs["server_id"]), kwargs["name"]

        def known() -> bool:
            if not Server.objects.filter(id=server_id).exists():
                return False
            return (
                ModelVersion.objects.filter(server_id=server_id, name=name).exists()
                or Series.objects.filter(server_id=server_id, model=name).exists()
            )

        return model_group(name) if await database_sync_to_async(known)() else None
