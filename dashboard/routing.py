"""Websocket routes; config/asgi.py wraps them in origin and session checks.

Each name is the route's row in dashboard.access.ACCESS (and its consumer's `route`).
"""

from typing import Any

from django.urls import path

from . import consumers

websocket_urlpatterns: list[Any] = [
    path("ws/fleet/", consumers.FleetConsumer.as_asgi(), name="ws-fleet"),
    path("ws/servers/<int:server_id>/", consumers.ServerConsumer.as_asgi(), name="ws-server"),
]
