"""A server added through the API is scraped within two intervals, then every tick."""

import time

import pytest

from fleet import storage
from fleet.models import Server
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_scrapes_a_new_server_within_two_intervals(admin, triton, celery_worker_process) -> None:
    response = client_for(admin).post(
        "/api/servers/",
        {"name": "second", "url": triton.http_url, "metrics_url": triton.metrics_url},
        format="json",
    )
    assert response.status_code == 201
    added = time.monotonic()
    server_id = response.json()["id"]
    celery_worker_process.wait_for(lambda: Server.objects.get(id=server_id).status == Server.Status.UP)
    assert time.monotonic() - added <= 2 * celery_worker_process.interval

    # Beat keeps scraping it: several distinct scrape times within a few more intervals.
    def scrape_times() -> int:
        times = len({p.at for p in storage.points(Server.objects.get(id=server_id))})
        return times if times >= 3 else 0

    celery_worker_process.wait_for(scrape_times, timeout=8 * celery_worker_process.interval)
