"""Websocket routes; config/asgi.py wraps them in origin and session checks.

Each name is the route's row in dashboard.access.ACCESS (and its consumer's `route`).
"""

from typing import Any

from django.urls import path, re_path

from . import consumers, consumers_deploy

websocket_urlpatterns: list[Any] = [
    path("ws/deployments/", consumers_deploy.DeploymentsConsumer.as_asgi(), name="ws-deployments"),
    path("ws/rollouts/<int:pk>/", consumers_deploy.RolloutConsumer.as_asgi(), name="ws-rollout"),
    path("ws/fleet/", consumers.FleetConsumer.as_asgi(), name="ws-fleet"),
    path("ws/alerts/", consumers.AlertsConsumer.as_asgi(), name="ws-alerts"),
    path("ws/servers/<int:server_id>/", consumers.ServerConsumer.as_asgi(), name="ws-server"),
    # A model name may hold anything, "/" and newlines included (percent-encoded by the page).
    re_path(
        r"^ws/servers/(?P<server_id>[0-9]+)/models/(?P<name>[\s\S]+)/$",
        consumers.ModelConsumer.as_asgi(),
        name="ws-model",
    ),
]
