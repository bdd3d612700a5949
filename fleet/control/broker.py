"""Which queued actions the broker lost: their run message is in no queue and no worker's hands.

A Redis without persistence that restarts loses its queues. An action requested just before
then stays queued with nothing left to run it, and only FLEET_ACTION_QUEUE_TIMEOUT (900 s)
would end it, holding its model all that time. Reconcile asks here and sends those again:
running an action twice is harmless, since the run claims the row (queued -> running) first.

Celery cannot say whether a message is still in the broker, so this reads the Redis
transport's own keys: each queue is a list, and a message handed to a worker stays in the
hash `unacked` until the worker acknowledges it (run_action acknowledges late, after the
run). Any other transport, or a broker that cannot be read, reports nothing lost.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Collection, Iterable
from typing import Any

from celery import current_app
from django.conf import settings

from .requests import RUN_ACTION_TASK

log = logging.getLogger(__name__)


def lost(action_ids: Collection[int]) -> set[int]:
    """Those of `action_ids` (queued actions) whose run message the broker does not hold."""
    if not action_ids:
        return set()
    try:
        held = set(_held())
    except Exception as exc:  # the broker is down or not Redis: assume nothing lost
        log.info("cannot read the broker's queue (%s): no action is sent again", type(exc).__name__)
        return set()
    return set(action_ids) - held


def _held() -> Iterable[int]:
    """The action ids of every run message in the control queue or handed to a worker."""
    with current_app.connection_for_read() as connection:
        channel: Any = connection.default_channel
        client = channel.client  # AttributeError for a transport that is not Redis
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        keys = [channel._q_for_pri(queue, priority) for priority in channel.priority_steps]
        for key in dict.fromkeys(keys):
            for raw in client.lrange(key, 0, -1):
                yield from _action_id(json.loads(raw))
        for raw in client.hvals(channel.unacked_key):  # every queue's, in this Redis database
            message, _exchange, routing_key = json.loads(raw)
            if routing_key == queue:
                yield from _action_id(message)


def _action_id(message: dict[str, Any]) -> Iterable[int]:
    """The action id of a run_action message (Celery's protocol 2, JSON); nothing for others."""
    try:
        if message.get("headers", {}).get("task") != RUN_ACTION_TASK:
            return
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        yield int(args[0])
    except (KeyError, IndexError, TypeError, ValueError):
        return
