"""Sparklines: each server's inferences/s over the last minutes, in buckets, for the whole fleet
in one read; a span without a successful scrape is a gap (None), never a zero. The same from
Prometheus. And which models a server page charts: the busiest first."""

import shutil
import threading
import time
from datetime import timedelta

import pytest

from fleet import services, trends
from fleet.demo.traffic import send_inferences
from fleet.models import Server
from tests.fleet.test_prometheus_source import prom, steady_traffic  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

WINDOW = timedelta(seconds=40)


def busy_scrapes(server: Server, scrapes: int, per_scrape: int = 20) -> None:
    for _ in range(scrapes):
        send_inferences(server.url, "fast", per_scrape, concurrency=4)
        services.scrape_server(server.id)
        time.sleep(0.5)


def test_it_buckets_each_servers_inferences_and_leaves_gaps(triton, server_for, settings) -> None:
    settings.FLEET_SCRAPE_INTERVAL = 1.0
    busy = server_for(triton)
    never = Server.objects.create(
        name="never-scraped", url="http://127.0.0.1:9", metrics_url="http://127.0.0.1:9/m"
    )
    services.scrape_server(busy.id)
    busy_scrapes(busy, 4)

    step, lines = trends.sparklines([busy, never], window=WINDOW, buckets=20)
    assert step == 2.0
    assert len(lines[busy.id]) == len(lines[never.id]) == 20
    values = [v for _, v in lines[busy.id]]
    assert values[0] is None  # before the first scrape: no data, not zero
    assert max(v for v in values if v is not None) > 10
    assert all(v is None for _, v in lines[never.id])
    times = [t for t, _ in lines[busy.id]]
    assert times == sorted(times) and times[1] - times[0] == step


def test_it_charts_the_busiest_models_of_a_server_first(triton, server_for) -> None:
    server = server_for(triton)
    services.scrape_server(server.id)
    send_inferences(server.url, "versioned", 30, concurrency=4)
    send_inferences(server.url, "fast", 5)
    services.scrape_server(server.id)
    server.refresh_from_db()  # its status and last scrape say which values are current
    charted = trends.charted_models(server)
    assert charted[:2] == ["versioned", "fast"]
    assert "longtail" not in charted  # never loaded: no throughput series
    assert trends.charted_models(server, limit=1) == ["versioned"]


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="Debian's prometheus package is not installed")
def test_it_reads_sparklines_from_prometheus(triton, prom, server_for, settings) -> None:  # noqa: F811
    settings.FLEET_SCRAPE_INTERVAL = 1.0
    settings.PROMETHEUS_RATE_WINDOW = 3.0
    server = server_for(triton)
    load = threading.Thread(target=steady_traffic, args=(server.url, 8.0))
    load.start()
    load.join()
    settings.PROMETHEUS_URL = prom
    _, lines = trends.sparklines([server], window=WINDOW, buckets=20)
    values = [v for _, v in lines[server.id] if v is not None]
    assert values and max(values) > 5
