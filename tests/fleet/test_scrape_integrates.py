"""Exactly N inferences sent: the stored inferences/s series integrates to N."""

import time
from datetime import timedelta
from itertools import pairwise

import pytest

from fleet import services, storage
from fleet.demo.traffic import send_inferences
from fleet.models import Server

pytestmark = pytest.mark.django_db


def integral(points: list[tuple[float, float | None]]) -> float:
    """Sum of rate × seconds since the previous point (the first point has no window)."""
    return sum(v * (t - t0) for (t0, _), (t, v) in pairwise(points) if v is not None)


def test_it_stores_rates_that_integrate_to_the_inferences_sent(triton_factory, server_for) -> None:
    server: Server = server_for(triton_factory())
    services.scrape_server(server.id)  # baseline: no rate yet
    time.sleep(0.3)
    services.scrape_server(server.id)
    send_inferences(server.url, "fast", 37, concurrency=4)
    time.sleep(0.3)
    services.scrape_server(server.id)
    time.sleep(0.3)
    services.scrape_server(server.id)

    points = storage.query(
        storage.SeriesQuery(
            server=server, metric="inferences_per_s", since=timedelta(minutes=5), model="fast"
        )
    )
    assert len(points) == 3
    assert integral(points) == pytest.approx(37, abs=0.01)
    requests = storage.query(
        storage.SeriesQuery(server=server, metric="requests_per_s", since=timedelta(minutes=5), model="fast")
    )
    assert integral(requests) == pytest.approx(37, abs=0.01)
