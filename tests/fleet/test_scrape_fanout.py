"""Scrape tasks go to their own queue, and several workers on it share them."""

import re

import pytest
from django.conf import settings

from fleet.models import Server

pytestmark = pytest.mark.django_db(transaction=True)


def scrapes_done(log: str) -> int:
    return len(re.findall(r"Task fleet\.tasks\.scrape\[[^\]]+\] succeeded", log))


def test_it_spreads_scrapes_over_the_workers_of_the_scrape_queue(triton, celery_worker_factory) -> None:
    for n in range(6):
        Server.objects.create(name=f"replica-{n}", url=triton.http_url, metrics_url=triton.metrics_url)
    # One worker runs beat and the default queue (the fan-out); two others only scrape.
    dispatcher = celery_worker_factory("dispatch", queues=[settings.CELERY_TASK_DEFAULT_QUEUE])
    scrapers = [
        celery_worker_factory("scraper", beat=False, queues=[settings.FLEET_SCRAPE_QUEUE]) for _ in range(2)
    ]

    def both_busy() -> bool:
        return all(scrapes_done(w.log.read_text()) >= 3 for w in scrapers)

    dispatcher.wait_for(both_busy, timeout=60)
    assert scrapes_done(dispatcher.log.read_text()) == 0, "scrapes must not run on the default queue"
    assert "dispatch_scrapes" in dispatcher.log.read_text()
    assert Server.objects.filter(status=Server.Status.UP).count() == 6
