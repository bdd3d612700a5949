"""ASGI entry point: HTTP through Django, websockets through Channels.

In front of Django's HTTP app, dashboard.fast_ensure answers ensure-loaded of a READY model
for a token Django authorized within the last seconds; every other request goes to Django."""

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from dashboard.fast_ensure import EnsureFastPath  # noqa: E402  (needs the app registry)
from dashboard.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": EnsureFastPath(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
