"""Helpers for websocket tests: a WebsocketCommunicator on the real ASGI application.

The communicator goes through the same origin check and session middleware as a browser.
Sessions are read from the database by another thread, so tests using a signed-in socket
must commit: `@pytest.mark.django_db(transaction=True)`.
"""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from config.asgi import application

LOCAL_ORIGIN = "http://localhost"


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def communicator(
    path: str, user: User | None = None, origin: str | None = LOCAL_ORIGIN
) -> WebsocketCommunicator:
    headers = [(b"host", b"localhost")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if user is not None:
        headers.append((b"cookie", session_cookie(user).encode()))
    return WebsocketCommunicator(application, path, headers=headers)
