"""The one way the fleet publishes live frames: sends to channel-layer groups.

`dashboard` consumers join these groups and relay; `fleet` never imports `dashboard`.
A failed publish is logged and dropped: live frames are a convenience, the database is
the record, and a browser that missed a frame fills the gap from the API.

A group nobody listens to gets nothing: one pipelined read of the groups' sizes per
publish costs less than the sends it saves (a scrape has a group per model, and most
models have no page open).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

log = logging.getLogger(__name__)

FLEET_GROUP = "fleet"

# (group, event type like "fleet.frame", payload)
Message = tuple[str, str, Mapping[str, Any]]


def server_group(server_id: int) -> str:
    return f"server-{server_id}"


def model_group(name: str) -> str:
    """A model's values from every server. Group names allow only ASCII letters, digits,
    "-", "_" and "." (under 100 characters); a model name may hold anything: a hash of it."""
    return f"model-{hashlib.sha256(name.encode()).hexdigest()[:40]}"


def broadcast(groups: list[str], event_type: str, payload: Mapping[str, Any]) -> None:
    """Send `{"type": event_type, **payload}` to each group."""
    send([(group, event_type, payload) for group in groups])


def send(messages: Sequence[Message]) -> None:
    """Send each message to its group, skipping groups without members."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        heard = await _listened(layer, {group for group, _, _ in messages})
        for group, event_type, payload in messages:
            if group in heard:
                await layer.group_send(group, {"type": event_type, **payload})

    try:
        async_to_sync(send_all)()
    except Exception:  # Redis down must not fail a scrape
        log.warning("publish to %d groups failed", len(messages), exc_info=True)


async def _listened(layer: Any, groups: set[str]) -> set[str]:
    """The groups with members. channels_redis keeps a group as a sorted set of channels
    (its `_group_key`, pinned with the package); other layers are asked nothing."""
    if not isinstance(layer, RedisChannelLayer):
        return groups
    by_shard: dict[int, list[str]] = defaultdict(list)
    for group in groups:
        by_shard[layer.consistent_hash(group)].append(group)
    heard: set[str] = set()
    for shard, names in by_shard.items():
        pipe = layer.connection(shard).pipeline(transaction=False)
        for name in names:
            pipe.zcard(layer._group_key(name))
        sizes = await pipe.execute()
        heard.update(name for name, size in zip(names, sizes, strict=True) if size)
    return heard
