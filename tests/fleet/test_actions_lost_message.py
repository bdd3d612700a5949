"""A queued action whose run message the broker lost (a Redis restart) is sent again by the
next reconcile, instead of holding its model until FLEET_ACTION_QUEUE_TIMEOUT; one whose
message still waits in the queue is left alone. (tests/faults/test_redis_restarted.py
restarts a real Redis under a running FleetDeck.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from fleet.control import broker, runner
from fleet.control.requests import request_action
from fleet.models import Action, ModelVersion, Server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield client
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_it_sends_again_an_action_whose_message_the_broker_lost(operator, queue) -> None:
    server = Server.objects.create(name="nowhere", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="m", version="1", state="UNAVAILABLE")
    action = request_action(server, "m", Action.Kind.LOAD, operator)  # sent on commit
    name = settings.CELERY_TASK_DEFAULT_QUEUE
    later = timezone.now() + timedelta(seconds=2 * settings.FLEET_RECONCILE_INTERVAL + 1)
    assert queue.llen(name) == 1
    assert broker.lost([action.id]) == set()

    runner.reconcile(now=later)
    assert queue.llen(name) == 1, "a message still in the queue is not sent twice"

    queue.delete(name)  # what a restart of a Redis without persistence does
    assert broker.lost([action.id]) == {action.id}
    runner.reconcile(now=later)

    assert queue.llen(name) == 1
    assert broker.lost([action.id]) == set()
    assert Action.objects.get(id=action.id).state == Action.State.QUEUED


def test_it_leaves_a_young_queued_action_alone(operator, queue) -> None:
    server = Server.objects.create(name="nowhere", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="m", version="1", state="UNAVAILABLE")
    request_action(server, "m", Action.Kind.LOAD, operator)
    queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)

    runner.reconcile()  # the message may still be on its way: not yet two intervals old

    assert queue.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0
