"""ASGI entry point: HTTP through Django, websockets through Channels, and the server's
lifespan (uvicorn's --lifespan on, the Procfile's).

In front of Django's HTTP app, dashboard.fast_ensure answers ensure-loaded of a READY model
for a token Django authorized within the last seconds; every other request goes to Django."""

import gc
import os
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from dashboard.fast_ensure import EnsureFastPath  # noqa: E402  (needs the app registry)
from dashboard.routing import websocket_urlpatterns  # noqa: E402


async def lifespan(scope: Any, receive: Any, send: Any) -> None:
    """At start-up, what is alive (Django, the URL conf, the app's modules: ~150,000
    objects) lives as long as the process: gc.freeze() takes it out of the collector's
    full passes. Without it, under load (ensure's fast path at ~10,000 answers/s, each
    answer's short-lived objects promoted while in flight) a full pass ran every ~2 s and
    took 75-110 ms, every request in flight waiting: p99 45-95 ms against 15 ms with it
    (docs/benchmarks.md)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            gc.collect()
            gc.freeze()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": EnsureFastPath(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)
