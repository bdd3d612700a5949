"""A wake-up for those who wait for an action's row to end (an ensure waiting for its load,
a load waiting for its evictions), instead of reading the row every 20 ms.

`finish` publishes the action's id on a Redis channel of its own once the row's end is
committed; a waiter subscribes first, then reads the row, then waits for that message. The
row stays the only truth: a message only says "read it now". A waiter reads the row again
every RECHECK_S even without one (a message lost to a Redis hiccup costs that much, no
more), and every POLL_S when Redis cannot be reached at all. Channels are not per database:
another database's action of the same id only causes a read of the row too many.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.db import transaction

from ..models import Action

log = logging.getLogger(__name__)

RECHECK_S = 0.25
POLL_S = 0.02  # without Redis, as before there was a wake-up


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)


def _channel(action_id: int) -> str:
    return f"{settings.FLEET_REDIS_PREFIX}:action-ended:{action_id}"


def signal(action_id: int) -> None:
    """Wake the waiters of this action once the transaction that ended its row commits."""

    def send() -> None:
        try:
            _client().publish(_channel(action_id), b"1")
        except redis.RedisError as exc:  # the waiters read the row within RECHECK_S anyway
            log.info("could not signal the end of action %s: %s", action_id, exc)

    transaction.on_commit(send)


def wait(action_id: int, deadline: float) -> Action | None:
    """The action once its row ended (None if it is gone); its active row at `deadline`
    (time.monotonic()) if it is still queued or running then."""
    pubsub: redis.client.PubSub | None
    try:
        pubsub = _client().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(_channel(action_id))
    except redis.RedisError as exc:
        log.info("waiting for action %s without a wake-up: %s", action_id, exc)
        pubsub = None
    try:
        while True:
            action = Action.objects.filter(id=action_id).first()
            left = deadline - time.monotonic()
            if action is None or not action.active or left <= 0:
                return action
            if pubsub is None:
                time.sleep(min(left, POLL_S))
                continue
            try:
                pubsub.get_message(timeout=min(left, RECHECK_S))
            except redis.RedisError:
                pubsub.close()
                pubsub = None
    finally:
        if pubsub is not None:
            pubsub.close()
