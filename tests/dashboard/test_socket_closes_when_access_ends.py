"""An open socket closes within seconds once its user logs out, is deactivated or loses the
role: the change reaches the socket through the user's group `user-<id>` on the real Redis
layer. A logout closes that session's sockets only, not the user's other browsers'."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client

from config.asgi import application
from tests.dashboard.sockets import LOCAL_ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)


def browser(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": "pw-" + username})
    assert response.status_code == 302
    return client


def socket_of(client: Client) -> WebsocketCommunicator:
    headers = [
        (b"host", b"localhost"),
        (b"origin", LOCAL_ORIGIN.encode()),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    return WebsocketCommunicator(application, "/ws/fleet/", headers=headers)


async def close_code(ws: WebsocketCommunicator, within: float = 5.0) -> int:
    while True:  # frames of the fleet may come first
        message = await ws.receive_output(timeout=within)
        if message["type"] == "websocket.close":
            return int(message["code"])


async def still_open(ws: WebsocketCommunicator) -> bool:
    await ws.send_json_to({"type": "ping"})
    while True:
        message = await ws.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return False
        if '"pong"' in message.get("text", ""):
            return True


def test_it_closes_the_sessions_socket_on_logout_and_keeps_the_other_browsers(viewer) -> None:
    leaving, staying = browser("vera"), browser("vera")
    ws, other = socket_of(leaving), socket_of(staying)

    async def scenario() -> None:
        try:
            assert (await ws.connect())[0] and (await other.connect())[0]
            response = await sync_to_async(leaving.post)("/logout/")
            assert response.status_code == 302
            assert await close_code(ws) == 4401
            assert await still_open(other)
        finally:
            await ws.disconnect()
            await other.disconnect()

    async_to_sync(scenario)()


def deactivate(user) -> None:
    user.is_active = False
    user.save()


@pytest.mark.parametrize(
    "change, expected",
    [
        (deactivate, 4401),
        (lambda user: user.groups.clear(), 4403),
        (lambda user: user.groups.remove(Group.objects.get(name="viewer")), 4403),
        (lambda user: Group.objects.get(name="viewer").user_set.remove(user), 4403),
        (lambda user: Group.objects.get(name="viewer").user_set.clear(), 4403),
        (lambda user: Group.objects.get(name="viewer").delete(), 4403),
    ],
    ids=[
        "deactivated",
        "groups-cleared",
        "role-removed",
        "removed-from-group",
        "group-cleared",
        "group-deleted",
    ],
)
def test_it_closes_the_socket_when_access_ends(viewer, change, expected) -> None:
    client = browser("vera")
    ws = socket_of(client)

    async def scenario() -> None:
        try:
            assert (await ws.connect())[0]
            assert await still_open(ws)
            await sync_to_async(change)(viewer)
            assert await close_code(ws) == expected
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()


def test_it_keeps_the_socket_of_a_user_who_keeps_a_role(viewer, operator) -> None:
    role = Group.objects.get(name="viewer")
    operator.groups.add(role)
    kept, closed = socket_of(browser("otto")), socket_of(browser("vera"))

    async def scenario() -> None:
        try:
            assert (await kept.connect())[0] and (await closed.connect())[0]
            await sync_to_async(role.user_set.clear)()  # both told to re-check
            assert await close_code(closed) == 4403
            assert await still_open(kept)  # otto is still an operator
        finally:
            await kept.disconnect()
            await closed.disconnect()

    async_to_sync(scenario)()
