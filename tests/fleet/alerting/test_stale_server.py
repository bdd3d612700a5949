"""A server still marked up whose scrapes stopped arriving (three intervals without one) is
stale: beat's fan-out fires server_down for it, naming how long; a fresh one stays quiet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from fleet.alerting import evaluate
from fleet.models import Alert, AlertRule, Server

pytestmark = pytest.mark.django_db


def test_it_fires_server_down_for_a_stale_server() -> None:
    rule = AlertRule.objects.create(name="down", kind="server_down", for_s=0)
    now = timezone.now()
    interval = timedelta(seconds=settings.FLEET_SCRAPE_INTERVAL)
    stale = Server.objects.create(name="quiet-for-long", url="http://127.0.0.1:9")
    fresh = Server.objects.create(name="just-scraped", url="http://127.0.0.1:9")
    Server.objects.filter(id=stale.id).update(status="up", last_scrape_at=now - 4 * interval)
    Server.objects.filter(id=fresh.id).update(status="up", last_scrape_at=now - interval)

    assert evaluate.stale_servers(now) == 1
    alert = Alert.objects.get(server=stale, rule=rule)  # (the default rule's is pending)
    assert alert.state == "firing"
    assert alert.cause == f"stale: no scrape for {4 * settings.FLEET_SCRAPE_INTERVAL:.0f} s"
    assert not Alert.objects.filter(server=fresh).exists()
