"""PROMETHEUS_URL mode: the fleet tick reads the values from a real Prometheus scraping the
real Triton, and evaluates the rules on them as the built-in scraper does: `slow` driven
above its capacity fires its queue-time alert with the cause "saturated"."""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest

from fleet import services
from fleet.demo.localfleet import TritonProcess
from fleet.models import Alert, AlertRule
from tests.fleet.test_prometheus_source import prom  # noqa: F401  (the fixture)

from .drive import closed_loop

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="Debian's prometheus package is not installed"
    ),
]


def test_it_fires_saturated_from_prometheus_values(
    triton: TritonProcess,
    prom: str,  # noqa: F811
    server_for: Any,
    settings: Any,
) -> None:
    settings.PROMETHEUS_URL = prom
    settings.PROMETHEUS_RATE_WINDOW = 3.0
    rule = AlertRule.objects.create(name="queue > 20 ms", kind="queue_time", threshold=20_000, for_s=0)
    server = server_for(triton, "prometheus-host")
    services.refresh_inventory(server)  # the config of slow: its one instance
    traffic = closed_loop(server.url, "slow", callers=4, seconds=6.0)
    time.sleep(5.0)  # Prometheus scrapes every second; its rate window is 3 s
    services.scrape_fleet_via_prometheus()
    traffic.join()
    alert = Alert.objects.get(rule=rule, model="slow")
    assert alert.state == "firing"
    assert alert.detail["code"] == "saturated", alert.cause
    assert alert.detail["busy"] >= 0.9
