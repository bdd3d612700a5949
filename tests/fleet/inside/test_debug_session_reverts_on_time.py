"""A debug session raises verbosity and the trace rate on a server with a restricted
logging/trace API (FleetDeck sends the server's header), and its timer reverts both when
the time is up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from fleet import services
from fleet.demo.localfleet import DEMO_REPOSITORY, TritonProcess
from fleet.models import DebugSession, Server
from tests.actions_support import wait_until
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

HEADER, SECRET = "x-fleet-debug", "let-me-in"


@pytest.fixture
def restricted(tmp_path) -> Iterator[TritonProcess]:
    triton = TritonProcess(
        DEMO_REPOSITORY,
        "triton-restricted",
        models=["fast"],
        log_path=tmp_path / "triton.log",
        extra_args=[
            f"--http-restricted-api=trace,logging:{HEADER}={SECRET}",
            f"--trace-config=triton,file={tmp_path / 'trace.json'}",
        ],
    )
    triton.start()
    try:
        triton.wait_ready()
        yield triton
    finally:
        triton.stop()


def _settings(triton: TritonProcess) -> tuple[int, str, list[str]]:
    logging = requests.get(f"{triton.http_url}/v2/logging", headers={HEADER: SECRET}, timeout=5).json()
    trace = requests.get(
        f"{triton.http_url}/v2/models/fast/trace/setting", headers={HEADER: SECRET}, timeout=5
    )
    return logging["log_verbose_level"], trace.json()["trace_rate"], trace.json()["trace_level"]


def test_it_raises_verbosity_and_tracing_then_reverts_on_time(
    operator, restricted, celery_worker_factory
) -> None:
    assert requests.get(f"{restricted.http_url}/v2/logging", timeout=5).status_code != 200  # restricted
    server = Server.objects.create(
        name="restricted", url=restricted.http_url, metrics_url=restricted.metrics_url,
        auth_header_name=HEADER, auth_header_value=SECRET,
    )  # fmt: skip
    services.refresh_inventory(server)
    celery_worker_factory("timer", beat=False)  # no sweep: the scheduled revert alone
    before = _settings(restricted)
    assert before == (0, "1000", ["OFF"])

    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/fast/debug/", {"minutes": 1}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert _settings(restricted) == (1, "1", ["TIMESTAMPS"])
    session = DebugSession.objects.get(id=response.json()["id"])
    assert session.requested_by == operator and session.state == DebugSession.State.ACTIVE
    wait_until(
        lambda: DebugSession.objects.get(id=session.id).state != DebugSession.State.ACTIVE,
        timeout=90,
        what="revert",
    )
    session.refresh_from_db()
    assert session.state == DebugSession.State.REVERTED, session.revert_error
    assert session.reverted_by == "timer"
    assert session.reverted_at is not None
    assert session.ends_at <= session.reverted_at <= session.ends_at + timedelta(seconds=10)
    assert _settings(restricted) == before


def test_it_refuses_minutes_out_of_range_and_viewers(viewer, operator, scraped) -> None:
    url = f"/api/servers/{scraped.id}/models/fast/debug/"
    for minutes in (0, 121):
        assert client_for(operator).post(url, {"minutes": minutes}, format="json").status_code == 400
    assert client_for(viewer).post(url, {"minutes": 5}, format="json").status_code == 403
    assert not DebugSession.objects.exists()
