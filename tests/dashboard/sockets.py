"""Helpers for websocket tests: a WebsocketCommunicator on the real ASGI application.

The communicator goes through the same origin check and session middleware as a browser.
Sessions are read from the database by another thread, so tests using a signed-in socket
must commit: `@pytest.mark.django_db(transaction=True)`. `private_layer` (import it into a
test module) keeps other test runs' frames off a test's sockets.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
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


@pytest.fixture
def private_layer(settings: Any) -> None:
    """The Redis channel layer under a prefix of this test's own, so that frames published
    by tests running beside it (other databases, the same server ids and model names) never
    reach its sockets."""
    layer: dict[str, Any] = copy.deepcopy(django_settings.CHANNEL_LAYERS["default"])
    layer["CONFIG"]["prefix"] = f"test-{uuid.uuid4().hex[:12]}:asgi"
    settings.CHANNEL_LAYERS = {"default": layer}  # channels builds a new layer on this change


async def receive_until(
    ws: WebsocketCommunicator, done: Callable[[dict[str, Any]], bool], timeout: float = 10
) -> list[dict[str, Any]]:
    """Every message up to and including the first that `done` accepts."""
    messages = []
    while True:
        messages.append(await ws.receive_json_from(timeout=timeout))
        if done(messages[-1]):
            return messages
