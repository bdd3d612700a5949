"""Concurrent load on the slow model: its queue time per request rises above the fast model's."""

import time
from datetime import timedelta

import pytest

from fleet import services, storage
from fleet.demo.traffic import send_inferences

pytestmark = pytest.mark.django_db


def latest(server, model: str, metric: str) -> float:
    points = storage.query(
        storage.SeriesQuery(server=server, metric=metric, since=timedelta(minutes=5), model=model)
    )
    values = [v for _, v in points if v is not None]
    assert values, f"no {metric} for {model}"
    return values[-1]


def test_it_shows_the_slow_model_queueing_far_more_than_the_fast_one(triton, server_for) -> None:
    server = server_for(triton)
    services.scrape_server(server.id)
    send_inferences(server.url, "slow", 24, concurrency=8)
    send_inferences(server.url, "fast", 24, concurrency=8)
    time.sleep(0.2)
    services.scrape_server(server.id)

    slow = latest(server, "slow", "queue_us_per_request")
    fast = latest(server, "fast", "queue_us_per_request")
    # 8 clients on one 50 ms instance: each request waits for several others.
    assert slow > 50_000
    assert slow > 10 * fast
    assert latest(server, "slow", "compute_infer_us_per_request") >= 45_000
