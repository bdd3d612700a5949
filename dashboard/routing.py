"""Websocket routes; config/asgi.py wraps them in origin and session checks."""

from typing import Any

from django.urls import path

from . import consumers

websocket_urlpatterns: list[Any] = [
    path("ws/fleet/", consumers.FleetConsumer.as_asgi()),
    path("ws/servers/<int:server_id>/", consumers.ServerConsumer.as_asgi()),
]
