"""Triton killed and restarted under traffic: status down then up, no negative or absurd rates."""

import threading
import time

import pytest

from fleet import services
from fleet.demo.traffic import send_inferences
from fleet.models import Point, Server

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
    rates = Point.objects.filter(series__server=server, series__metric__endswith="_per_s")
    values = list(rates.values_list("value", flat=True))
    assert values and min(values) >= 0
    # Nothing can exceed what the traffic thread could have sent in a whole test's time.
    assert max(values) < 100_000
    per_request = Point.objects.filter(series__server=server, series__metric__endswith="_per_request")
    assert min(per_request.values_list("value", flat=True)) >= 0
