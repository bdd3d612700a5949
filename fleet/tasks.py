"""Celery tasks: thin wrappers that take ids and call services; safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import services, storage
from .models import Server


@shared_task(ignore_result=True)
def dispatch_scrapes() -> int:
    """Fan out one scrape per server; a scrape not started within the interval is dropped."""
    expires = settings.FLEET_SCRAPE_INTERVAL * 0.9
    ids = list(Server.objects.values_list("id", flat=True))
    for server_id in ids:
        scrape.apply_async((server_id,), expires=expires)
    return len(ids)


@shared_task(ignore_result=True)
def scrape(server_id: int) -> None:
    services.scrape_server(server_id)


@shared_task(ignore_result=True)
def maintain_storage() -> None:
    storage.rollup()
    storage.prune()
