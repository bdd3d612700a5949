"""Two simultaneous loads of one model: the database lets one through (202), the other gets
409 naming it, and Triton loads the model once."""

import threading

import pytest
from django.db import connection

from fleet import services
from fleet.models import Action
from tests.actions_support import wait_action
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_accepts_one_of_two_simultaneous_loads(
    operator, admin, triton_factory, server_for, celery_worker_process
) -> None:
    triton = triton_factory()
    server = server_for(triton)
    services.refresh_inventory(server)
    url = f"/api/servers/{server.id}/models/longtail/load/"
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def post(user) -> None:
        client = client_for(user)
        try:
            barrier.wait(timeout=10)
            response = client.post(url, {}, format="json")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(user,)) for user in (operator, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    answers.sort(key=lambda answer: answer[0])
    assert [status for status, _ in answers] == [202, 409], answers
    accepted, refused = answers[0][1], answers[1][1]
    assert refused["code"] == "in_progress"
    assert refused["action_id"] == accepted["action_id"]
    assert f"action #{accepted['action_id']}" in refused["detail"]
    assert Action.objects.count() == 1

    assert wait_action(accepted["action_id"]).state == Action.State.SUCCEEDED
    log = triton.log_path.read_text()
    assert log.count('"loading: longtail:1"') == 1, "Triton must load the model exactly once"
    assert log.count("successfully loaded 'longtail'") == 1
