"""A worker whose clock is behind still stores its scrapes: stamps come from the database's clock."""

import time

import pytest

from fleet import services, storage
from fleet.demo.traffic import send_inferences
from fleet.models import Server

pytestmark = pytest.mark.django_db


def test_a_scrape_by_a_worker_two_minutes_behind_is_stored(triton, server_for, monkeypatch) -> None:
    server = server_for(triton)
    services.scrape_server(server.id)  # by a worker with a good clock
    send_inferences(server.url, "fast", 10)
    stored = len(storage.points(server))

    real_time = time.time
    # The fault: this worker's clock is 120 s behind (no real worker can be made to drift).
    monkeypatch.setattr("fleet.triton.time.time", lambda: real_time() - 120)
    monkeypatch.setattr("fleet.services.time.time", lambda: real_time() - 120)
    services.scrape_server(server.id)

    assert len(storage.points(server)) > stored
    server.refresh_from_db()
    assert server.status == Server.Status.UP
    assert abs(server.last_scrape_at.timestamp() - real_time()) < 10
