"""Five concurrent ensure calls for one unloaded model give exactly one load: the others
join it (the one-action-per-model lock), and all answer READY once it is."""

import threading

import pytest
from django.db import connection

from fleet import services
from fleet.models import Action
from tests.actions_support import states
from tests.autopilot_support import REPOSITORY
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_loads_once_for_five_concurrent_callers(
    operator, triton_factory, server_for, celery_worker_process
) -> None:
    triton = triton_factory(REPOSITORY, models=[])
    server = server_for(triton)
    services.refresh_inventory(server)
    clients = [client_for(operator) for _ in range(5)]
    answers: list = [None] * 5
    start = threading.Barrier(5)

    def call(i: int) -> None:
        try:
            start.wait()
            answers[i] = clients[i].post(f"/api/servers/{server.id}/models/mem256/ensure/", {}, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [a.status_code for a in answers] == [200] * 5, [a.json() for a in answers]
    assert {a.json()["state"] for a in answers} == {"READY"}
    assert sum(a.json()["loaded"] for a in answers) == 1
    loads = Action.objects.filter(server=server, model="mem256", kind="load")
    assert loads.count() == 1 and loads.get().state == "succeeded"
    assert {a.json()["action_id"] for a in answers if a.json()["action_id"]} == {loads.get().id}
    assert states(triton.http_url, "mem256") == ["READY"]
