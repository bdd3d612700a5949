"""A load FleetDeck stops waiting for (FLEET_LOAD_TIMEOUT, the task's soft time limit) is
not over while Triton still shows the model LOADING: the action stays running, so the
model's lock holds and a second load is refused; it ends from what Triton finally shows."""

import threading
from datetime import timedelta

import pytest
import requests as http
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from fleet import services, triton
from fleet.control import runner, settle
from fleet.control.requests import request_action
from fleet.models import Action
from tests.actions_support import add_model, demo_copy, run_in_thread, states, wait_action, wait_until
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sleepy(tmp_path, triton_factory, server_for):
    """A Triton whose `sleepy` takes about 6 s to load, and its Server row."""
    repo = demo_copy(tmp_path)
    add_model(repo, "sleepy", {1: "sleepy:6"})
    process = triton_factory(repo, models=["fast"])
    server = server_for(process)
    services.refresh_inventory(server)
    return process, server


def _waiting(action_id: int) -> bool:
    action = Action.objects.get(id=action_id)
    return action.state == Action.State.RUNNING and settle.WAITING in action.parameters


def _second_load(user, server) -> tuple[int, str]:
    answer = client_for(user).post(f"/api/servers/{server.id}/models/sleepy/load/", {}, format="json")
    return answer.status_code, answer.json().get("code", "")


def test_it_holds_the_lock_after_the_load_call_timed_out(operator, admin, sleepy, settings) -> None:
    process, server = sleepy
    settings.FLEET_LOAD_TIMEOUT = 1.0
    action = request_action(server, "sleepy", Action.Kind.LOAD, operator)
    running = run_in_thread(action.id)

    wait_until(lambda: _waiting(action.id), 30, "the action to wait for Triton")
    assert states(server.url, "sleepy") == ["LOADING"]
    assert _second_load(admin, server) == (409, "in_progress")

    running.join(timeout=60)
    done = wait_action(action.id)
    assert done.state == Action.State.SUCCEEDED, done.error
    assert "Triton went on" in done.result and "READY" in done.result
    assert Action.objects.count() == 1
    assert process.log_path.read_text().count('"loading: sleepy:1"') == 1, "loaded exactly once"


def test_it_hands_a_load_cut_by_the_soft_time_limit_to_reconcile(
    operator, admin, sleepy, settings, monkeypatch
) -> None:
    process, server = sleepy
    loading: list[threading.Thread] = []

    def load_until_the_limit(target, name, config=None) -> float:
        # The limit cannot be made to strike mid-load here (it is a minute and more), so
        # it is raised once Triton is really loading, as Celery would raise it.
        load = threading.Thread(
            target=http.post, args=(f"{target.url}/v2/repository/models/{name}/load",), kwargs={"timeout": 60}
        )
        load.start()
        loading.append(load)
        wait_until(lambda: states(target.url, name) == ["LOADING"], 30, "Triton to load")
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(triton, "load_model", load_until_the_limit)
    action = request_action(server, "sleepy", Action.Kind.LOAD, operator)
    runner.run_action(action.id)  # returns at the limit

    assert _waiting(action.id)
    assert "soft time limit" in Action.objects.get(id=action.id).parameters[settle.WAITING]
    assert _second_load(admin, server) == (409, "in_progress")
    # Beat's reconcile ends it once its heartbeat is stale and Triton is done.
    later = timezone.now() + timedelta(seconds=settings.FLEET_ACTION_LEASE + 1)
    assert runner.reconcile(later) == 0  # still LOADING: it waits
    loading[0].join(timeout=60)
    assert runner.reconcile(later + timedelta(seconds=10)) == 1
    done = Action.objects.get(id=action.id)
    assert done.state == Action.State.SUCCEEDED, done.error
    assert "soft time limit" in done.result and "READY" in done.result
    assert process.log_path.read_text().count('"loading: sleepy:1"') == 1
