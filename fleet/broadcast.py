"""The one way the fleet publishes live frames: a send to a channel-layer group.

`dashboard` consumers join these groups and relay; `fleet` never imports `dashboard`.
A failed publish is logged and dropped: live frames are a convenience, the database is
the record, and a browser that missed a frame fills the gap from the API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

FLEET_GROUP = "fleet"


def server_group(server_id: int) -> str:
    return f"server-{server_id}"


def broadcast(groups: list[str], event_type: str, payload: Mapping[str, Any]) -> None:
    """Send `{"type": event_type, **payload}` to each group (event_type like "fleet.frame")."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": event_type, **payload}

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, message)

    try:
        async_to_sync(send_all)()
    except Exception:  # Redis down must not fail a scrape
        log.warning("broadcast of %s to %s failed", event_type, groups, exc_info=True)
