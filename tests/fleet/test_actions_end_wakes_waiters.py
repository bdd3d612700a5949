"""Whoever waits for an action's row to end (an ensure, a load waiting for its evictions) is
woken when the runner ends it, not at its next read of the row; without Redis it still
sees the end, by reading the row."""

import threading
import time

import pytest

from fleet.control import ended
from fleet.control.record import finish
from fleet.models import Action, Server

pytestmark = pytest.mark.django_db(transaction=True)


def _running(operator) -> Action:
    server = Server.objects.create(name="nowhere", url="http://127.0.0.1:9")
    return Action.objects.create(
        kind=Action.Kind.LOAD, server=server, model="m", state=Action.State.RUNNING, requested_by=operator
    )


def _wait_in_thread(action_id: int, out: list[tuple[Action | None, float]]) -> threading.Thread:
    def wait() -> None:
        from django.db import connection

        try:
            found = ended.wait(action_id, time.monotonic() + 60)
            out.append((found, time.monotonic()))
        finally:
            connection.close()

    thread = threading.Thread(target=wait)
    thread.start()
    return thread


def test_it_wakes_the_waiter_when_the_row_ends(operator, monkeypatch) -> None:
    monkeypatch.setattr(ended, "RECHECK_S", 30.0)  # only the wake-up can end the wait early
    action = _running(operator)
    out: list[tuple[Action | None, float]] = []
    thread = _wait_in_thread(action.id, out)
    time.sleep(0.5)  # subscribed and waiting
    assert not out
    finish(action.id, Action.State.SUCCEEDED, result="done")
    ended_at = time.monotonic()
    thread.join(timeout=20)
    assert out, "the waiter was never woken"
    found, woke_at = out[0]
    assert found is not None and found.state == Action.State.SUCCEEDED
    assert woke_at - ended_at < 10  # long before its 30 s re-read


def test_it_sees_the_end_without_redis(operator, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    action = _running(operator)
    out: list[tuple[Action | None, float]] = []
    thread = _wait_in_thread(action.id, out)
    time.sleep(0.3)
    assert finish(action.id, Action.State.FAILED, error="boom")  # the signal's failure is no failure
    thread.join(timeout=20)
    assert out and out[0][0] is not None and out[0][0].state == Action.State.FAILED


def test_it_returns_the_active_row_at_the_deadline(operator) -> None:
    action = _running(operator)
    found = ended.wait(action.id, time.monotonic() + 0.3)
    assert found is not None and found.state == Action.State.RUNNING
