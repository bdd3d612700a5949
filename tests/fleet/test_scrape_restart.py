"""Triton killed and restarted under traffic: status down then up, no negative or absurd rates."""

import threading
import time
from datetime import timedelta
from itertools import pairwise

import pytest

from fleet import services, storage
from fleet.demo.traffic import send_inferences
from fleet.models import Server

pytestmark = pytest.mark.django_db


def test_it_goes_down_then_up_with_sane_rates_across_a_restart(triton_factory, server_for) -> None:
    triton = triton_factory()
    server = server_for(triton)
    stop = threading.Event()
    sent = 0

    def traffic() -> None:
        nonlocal sent
        while not stop.is_set():
            try:
                send_inferences(server.url, "fast", 10, concurrency=2)
                sent += 10
            except Exception:
                time.sleep(0.1)  # the server is down: keep trying

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    statuses = []
    try:
        for _ in range(3):
            services.scrape_server(server.id)
            time.sleep(0.3)
        triton.kill()
        services.scrape_server(server.id)
        server.refresh_from_db()
        statuses.append(server.status)
        assert "connect" in server.last_error.lower()
        triton.restart()
        triton.wait_ready()
        for _ in range(4):
            time.sleep(0.3)
            services.scrape_server(server.id)
            server.refresh_from_db()
            statuses.append(server.status)
    finally:
        stop.set()
        worker.join(timeout=10)

    assert statuses[0] == Server.Status.DOWN
    assert statuses[-1] == Server.Status.UP
    stored = storage.points(server)
    values = [p.value for p in stored if p.metric.endswith("_per_s") and p.value is not None]
    assert values and min(values) >= 0
    # The inferences the stored rates account for cannot exceed what was sent (a counter
    # reset read as a huge or negative delta would break this), give or take one batch in
    # flight when the thread stopped.
    # Each rate covers the time since the server's previous good scrape (any point marks one).
    scrapes = sorted({p.at for p in stored if p.value is not None})
    window = {at: (at - before).total_seconds() for before, at in pairwise(scrapes)}
    fast = [(p.at, p.value) for p in stored if (p.model, p.metric) == ("fast", "inferences_per_s")]
    counted = sum(value * window[at] for at, value in fast if value is not None)
    assert 0 < counted <= sent + 10
    assert min(p.value for p in stored if p.metric.endswith("_per_request") and p.value is not None) >= 0
    # However short the outage, the API shows it as a gap between the two runs of points.
    line = [
        v
        for _, v in storage.query(
            storage.SeriesQuery(server, "inferences_per_s", timedelta(minutes=5), "fast")
        )
    ]
    assert None in line
    gap = line.index(None)
    assert line[:gap] and line[gap + 1 :] and None not in line[gap + 1 :]
