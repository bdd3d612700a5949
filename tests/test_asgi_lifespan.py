"""The web process's lifespan: at start-up what is alive is frozen out of the collector's
full passes (config/asgi.py says why), and start-up and shutdown both complete."""

import asyncio
import gc
from typing import Any

from config.asgi import application


def test_it_freezes_what_is_alive_at_startup() -> None:
    sent: list[dict[str, Any]] = []
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    gc.unfreeze()
    try:
        asyncio.run(application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert frozen > 10_000  # Django and the app's modules at least
