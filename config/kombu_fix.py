"""A worker must survive its broker restarting: guard one kombu 5.7.0 path that kills it.

When Redis goes away, Celery's consumer closes the broker connection. Two things can then
touch the closed channel: its close puts the messages it holds unacknowledged (late-acked
tasks such as run_action) back in the queue, and a late-acked task that ends afterwards acks
through it. Both need a new pool, whose parameters come from a transport that has already
dropped its client, so they ask `None.hostname`, and the AttributeError escapes Celery's
error handling (which only expects the transport's connection errors): "Unrecoverable
error", the worker exits (1 Redis restart in 20 in the fault suite; the class of bug of
celery/kombu#970 and #582; reproduced outside FleetDeck with a bare Celery app).

Raising the transport's own ConnectionError there instead makes both take the path they take
when Redis is down with the pool still open: the restore or ack is skipped and logged, the
consumer reconnects. Nothing is lost that was not lost anyway: the unacked hash lived in the Redis that
restarted, and reconcile sends again a queued action whose message is gone (fleet.control.broker).
"""

from __future__ import annotations

from typing import Any, cast

import redis.exceptions
from kombu.transport import redis as kombu_redis

_Channel = cast(Any, kombu_redis.Channel)  # a private method, untyped in kombu's stubs
_connparams = _Channel._connparams


def _guarded_connparams(self: Any, asynchronous: bool = False) -> Any:
    if getattr(self.connection, "client", None) is None:
        raise redis.exceptions.ConnectionError("broker connection already closed")
    return _connparams(self, asynchronous=asynchronous)


def install() -> None:
    """Idempotent: patch kombu's Redis channel once per process."""
    if _Channel._connparams is not _guarded_connparams:
        _Channel._connparams = _guarded_connparams
