"""The worker holding a debug session's timer dies; after a restart, beat's sweep reverts
the session from its row once its time is up. A session reverted on demand ends at once."""

from __future__ import annotations

import pytest
import requests

from fleet import services
from fleet.models import DebugSession
from tests.actions_support import wait_until
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def _verbosity(url: str) -> int:
    return int(requests.get(f"{url}/v2/logging", timeout=5).json()["log_verbose_level"])


def test_it_reverts_after_a_worker_restart(
    operator, triton_factory, server_for, celery_worker_factory
) -> None:
    triton = triton_factory(models=["fast"])
    server = server_for(triton)
    services.refresh_inventory(server)
    doomed = celery_worker_factory("doomed", beat=False)

    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/fast/debug/", {"minutes": 1}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert _verbosity(triton.http_url) == 1
    # No trace file on this server: the rate is raised, the level left as it was.
    assert response.json()["applied"]["trace"] == {"trace_rate": "1", "trace_level": ["OFF"]}
    doomed.wait_for(lambda: "revert_debug_session" in doomed.log.read_text())  # it holds the timer
    doomed.kill()

    celery_worker_factory("rescuer", beat=True, env={"FLEET_RECONCILE_INTERVAL": "1"})
    session = wait_until(
        lambda: DebugSession.objects.filter(
            id=response.json()["id"], state=DebugSession.State.REVERTED
        ).first(),
        timeout=100,
        what="the sweep",
    )
    assert session.reverted_by == "sweep" and session.reverted_at >= session.ends_at
    assert _verbosity(triton.http_url) == 0
    trace = requests.get(f"{triton.http_url}/v2/models/fast/trace/setting", timeout=5).json()
    assert trace["trace_rate"] == "1000"


def test_it_reverts_on_demand(operator, triton_factory, server_for) -> None:
    triton = triton_factory(models=["fast"])
    server = server_for(triton)
    services.refresh_inventory(server)
    url = f"/api/servers/{server.id}/models/fast/debug/"
    otto = client_for(operator)
    assert otto.post(url, {"minutes": 30}, format="json").status_code == 201
    assert otto.post(url, {"minutes": 30}, format="json").status_code == 409  # one at a time

    answer = otto.delete(url)

    assert answer.status_code == 200 and answer.json()["state"] == "reverted"
    assert answer.json()["reverted_by"] == operator.username
    assert _verbosity(triton.http_url) == 0
