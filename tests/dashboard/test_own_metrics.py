"""GET /metrics: FleetDeck monitored like the servers it watches."""

import time

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from fleet import tasks
from fleet.demo.machine import free_port_block
from fleet.models import Server

pytestmark = pytest.mark.django_db


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_it_exports_scrape_figures_per_server_and_queue_lengths(triton, server_for) -> None:
    good = server_for(triton)
    bad = Server.objects.create(name="nowhere", url=f"http://127.0.0.1:{free_port_block(3)}")
    tasks.scrape(good.id, dispatched_at=time.time() - 0.5)
    tasks.scrape(good.id)
    tasks.scrape(bad.id)

    response = Client().get("/metrics")
    assert response.status_code == 200
    got = samples(response.content)
    good_label = (("server", good.name),)
    assert got[("fleetdeck_scrapes_total", good_label)] == 2
    assert got[("fleetdeck_scrape_errors_total", good_label)] == 0
    assert got[("fleetdeck_scrape_errors_total", (("server", "nowhere"),))] == 1
    assert 0 < got[("fleetdeck_scrape_duration_seconds", good_label)] < 30
    assert got[("fleetdeck_scrape_queue_lag_seconds", good_label)] >= 0.5
    assert got[("fleetdeck_servers", (("status", "down"),))] == 1
    assert got[("fleetdeck_servers", (("status", "up"),))] == 1
    assert any(name == "fleetdeck_task_queue_length" for name, _ in got)
    assert ("fleetdeck_websocket_clients", ()) in got


def test_it_asks_for_the_token_when_one_is_set(settings) -> None:
    settings.FLEET_METRICS_TOKEN = "s3cret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
