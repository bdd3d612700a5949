"""Reactions to rows saved anywhere (the API, /admin/, the shell, the demo's set-up).

A server is scraped as soon as it is created, wherever that happens, rather than at the
next beat tick: its page then has data at once. Connected in `FleetConfig.ready`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import tasks
from .models import Server

log = logging.getLogger(__name__)


@receiver(post_save, sender=Server, dispatch_uid="fleet.scrape_new_server")
def scrape_new_server(
    sender: type[Server], instance: Server, created: bool, raw: bool = False, **_: Any
) -> None:
    if created and not raw:  # raw: loaddata; fixtures are not servers to call
        transaction.on_commit(lambda: scrape_now(instance.id))


def scrape_now(server_id: int) -> None:
    """Queue one scrape. It expires after an interval: by then beat has queued its own."""
    try:
        tasks.scrape.apply_async((server_id,), expires=settings.FLEET_SCRAPE_INTERVAL)
    except Exception:  # the broker is down: beat scrapes it once it is back
        log.warning("could not queue the first scrape of server %s", server_id, exc_info=True)
