"""A failed heartbeat (a database hiccup) does not end the heartbeat: the running action's
lease keeps being renewed, so reconcile never takes a long load for a lost worker."""

import threading

import pytest
from django.db import OperationalError
from django.db.models import QuerySet

from fleet import services
from fleet.control.requests import request_action
from fleet.models import Action
from tests.actions_support import add_model, demo_copy, run_in_thread, wait_action

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_beats_on_after_a_failed_beat(
    operator, tmp_path, triton_factory, server_for, settings, monkeypatch
) -> None:
    repo = demo_copy(tmp_path)
    add_model(repo, "sleepy", {1: "sleepy:3"})
    server = server_for(triton_factory(repo, models=["fast"]))
    services.refresh_inventory(server)
    settings.FLEET_ACTION_LEASE = 0.6  # a beat every 0.2 s

    failed: list[str] = []
    update = QuerySet.update

    def flaky_update(self, **changes):
        # The database cannot be made to fail one query on cue, so the first heartbeat
        # write fails as a dropped connection would.
        if (
            "heartbeat_at" in changes
            and threading.current_thread().name.endswith("-heartbeat")
            and not failed
        ):
            failed.append(threading.current_thread().name)
            raise OperationalError("server closed the connection unexpectedly")
        return update(self, **changes)

    monkeypatch.setattr(QuerySet, "update", flaky_update)
    action = request_action(server, "sleepy", Action.Kind.LOAD, operator)
    run_in_thread(action.id).join(timeout=60)

    done = wait_action(action.id)
    assert done.state == Action.State.SUCCEEDED, done.error
    assert failed, "the injected fault never struck"
    # Beats after the failed one: the lease was renewed to near the end of the 3 s load.
    assert done.heartbeat_at and done.started_at
    assert (done.heartbeat_at - done.started_at).total_seconds() >= 1.5
