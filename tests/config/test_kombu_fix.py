"""A Celery worker survives its Redis restarting: after the broker connection is closed, a late
ack or the restore of unacked messages through a channel of it raises the transport's
connection error (which Celery handles by reconnecting), never the AttributeError that made
kombu 5.7.0 kill the worker ("Unrecoverable error: 'NoneType' object has no attribute
'hostname'"). Real kombu against the real Redis. In a worker the state that crashed it comes from a timing
race while Celery's consumer tears the connection down (1 Redis restart in 20 in the fault
suite; 2 crashes in 40 restarts of a bare Celery app), so the test puts the channel into the
state both tracebacks showed: a late-acked message still held, the channel's pools dropped,
the transport's client gone."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Consumer, Exchange, Message, Queue

from config import kombu_fix


@pytest.fixture
def held_message() -> Iterator[tuple[Connection, Message]]:
    """A message delivered on a consumer channel and not yet acknowledged, as a late-acked task
    holds it while it runs."""
    kombu_fix.install()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"fleetdeck-kombu-fix-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    connection = Connection(url)
    channel: Any = connection.default_channel  # the channel Celery's consumer reads from
    got: list[Message] = []
    consumer = Consumer(
        channel, [queue], callbacks=[lambda _body, message: got.append(message)], accept=["json"]
    )
    consumer.declare()
    connection.Producer().publish(
        {"task": "run_action"}, exchange=queue.exchange, routing_key=name, serializer="json"
    )
    with consumer:
        connection.drain_events(timeout=5)
    assert len(got) == 1
    channel._disconnect_pools()  # as kombu does when a channel finds Redis gone
    connection.transport.client = None  # as the consumer's connection.collect() leaves it
    yield connection, got[0]
    channel.do_restore = False  # nothing left for kombu's exit-time restore of this channel
    with Connection(url) as cleanup:
        queue(cleanup.default_channel).delete()


def test_it_turns_an_ack_after_collect_into_a_connection_error(
    held_message: tuple[Connection, Message],
) -> None:
    connection, message = held_message
    with pytest.raises(connection.connection_errors):
        message.ack()  # the task ends meanwhile: Celery logs "Couldn't ack" and goes on


def test_it_turns_a_restore_after_collect_into_a_connection_error(
    held_message: tuple[Connection, Message],
) -> None:
    connection, message = held_message
    with pytest.raises(connection.connection_errors):
        channel: Any = message.channel
        channel.close()  # restores the unacked message: skipped, as when Redis is down
