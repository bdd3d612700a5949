"""A socket opened from another site's page is refused, even with a valid session."""

import pytest
from asgiref.sync import async_to_sync

from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost.evil.example", None])
def test_it_refuses_a_foreign_or_missing_origin(viewer, origin) -> None:
    ws = communicator("/ws/fleet/", user=viewer, origin=origin)

    async def scenario() -> None:
        try:
            connected, _ = await ws.connect()
            assert connected is False
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()


def test_it_accepts_the_same_site(viewer) -> None:
    ws = communicator("/ws/fleet/", user=viewer)

    async def scenario() -> None:
        try:
            connected, _ = await ws.connect()
            assert connected is True
        finally:
            await ws.disconnect()

    async_to_sync(scenario)()
