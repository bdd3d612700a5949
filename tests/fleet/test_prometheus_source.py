"""PROMETHEUS_URL mode against a real Prometheus (Debian's package) scraping the real Triton."""

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from fleet import prometheus, series, services, storage
from fleet.demo.machine import free_port_block
from fleet.demo.traffic import send_inferences
from fleet.derive import Derived, derive, parse
from fleet.models import ModelVersion, Server
from tests.conftest import client_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="Debian's prometheus package is not installed"
    ),
]


def start_prometheus(targets: list[str], tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port_block(1)
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: triton, static_configs: [{{targets: {targets}}}]}}]\n"
    )
    popen = subprocess.Popen(
        [
            "prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ],
        stdout=(tmp / "prometheus.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", timeout=1).ok:
                return popen, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    popen.kill()
    raise AssertionError((tmp / "prometheus.log").read_text())


@pytest.fixture
def prom(triton, tmp_path: Path) -> Iterator[str]:
    target = triton.metrics_url.split("/")[2]
    popen, url = start_prometheus([target], tmp_path)
    try:
        # Prometheus starts scraping a few seconds after it is ready: wait for the first sample.
        deadline = time.monotonic() + 30
        query = {"query": f'up{{instance="{target}"}}'}
        while not requests.get(f"{url}/api/v1/query", params=query, timeout=5).json()["data"]["result"]:
            assert time.monotonic() < deadline, "Prometheus never scraped Triton"
            time.sleep(0.25)
        yield url
    finally:
        popen.terminate()
        popen.wait(timeout=20)


def steady_traffic(url: str, seconds: float) -> None:
    """~20 inferences/s on `fast` for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        send_inferences(url, "fast", 2)
        time.sleep(0.1)


def mean(points: list[tuple[float, float | None]], start: float, end: float) -> float:
    values = [v for t, v in points if v is not None and start <= t <= end]
    assert len(values) >= 3, points
    return sum(values) / len(values)


def test_it_shows_the_same_throughput_as_the_builtin_scraper(
    triton, prom, server_for, settings, viewer
) -> None:
    settings.FLEET_SCRAPE_INTERVAL = 1.0
    settings.PROMETHEUS_RATE_WINDOW = 3.0
    server = server_for(triton)
    load = threading.Thread(target=steady_traffic, args=(server.url, 16.0))
    load.start()
    started = time.time()
    while load.is_alive():  # the built-in scraper, at 1 s, meanwhile
        services.scrape_server(server.id)
        time.sleep(1.0)
    load.join()
    # The steady middle: after the rate window filled, before the traffic stopped.
    start, end = started + 5, started + 14
    builtin = storage.query(storage.SeriesQuery(server, "inferences_per_s", timedelta(minutes=2), "fast"))

    settings.PROMETHEUS_URL = prom
    response = client_for(viewer).get(
        f"/api/servers/{server.id}/series/", {"model": "fast", "metric": "inferences_per_s", "since": "120"}
    )
    assert response.status_code == 200, response.content
    from_prometheus = [tuple(p) for p in response.json()["points"]]
    assert response.json()["unit"] == "inferences/s"

    expected = mean(builtin, start, end)
    assert expected > 5
    assert mean(from_prometheus, start, end) == pytest.approx(expected, rel=0.15)


def test_it_reads_live_values_and_target_health_from_prometheus(triton, prom, server_for, settings) -> None:
    settings.PROMETHEUS_URL = prom
    settings.PROMETHEUS_RATE_WINDOW = 3.0
    server = server_for(triton)
    steady_traffic(server.url, 4.0)
    assert services.scrape_fleet_via_prometheus() == 1
    server.refresh_from_db()
    assert server.status == Server.Status.UP, server.last_error
    state = prometheus.fleet_state([server], ["inferences_per_s"])[server.id]
    live = {(v.model, v.metric): v.value for v in state.values}
    assert live[("fast", "inferences_per_s")] > 0
    # memory_usage is not in Prometheus (it comes from the statistics API): still our storage.
    storage.store(server, timezone.now(), [Derived("memory_usage_bytes", 123.0, "fast", "1")])
    memory = storage.SeriesQuery(server, "memory_usage_bytes", timedelta(minutes=5), "fast")
    assert [v for _, v in series.points(memory)] == [123.0]


def test_it_answers_every_metric_the_builtin_scraper_emits(triton, prom, server_for, settings) -> None:
    settings.PROMETHEUS_URL = prom
    settings.PROMETHEUS_RATE_WINDOW = 3.0
    server = server_for(triton)
    steady_traffic(server.url, 4.0)
    # What the built-in scraper derives for this server, per model, version and label.
    previous = parse(requests.get(triton.metrics_url, timeout=5).text, time.time())
    steady_traffic(server.url, 1.0)
    current = parse(requests.get(triton.metrics_url, timeout=5).text, time.time())
    builtin = {(d.metric, d.model, d.version, d.label) for d in derive(previous, current)}
    assert {"inferences_per_s", "queue_us_per_request", "failures_per_s"} <= {key[0] for key in builtin}

    state = prometheus.fleet_state([server], services.LIVE_METRICS)[server.id]
    assert builtin - {(d.metric, d.model, d.version, d.label) for d in state.values} == set()
    for metric, model, version, label in builtin:
        points = prometheus.range_query(server, metric, timedelta(minutes=2), model, version, label or None)
        assert [v for _, v in points if v is not None], (metric, model, version, label)


def queries_served(prom: str) -> float:
    body = requests.get(f"{prom}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "prometheus_http_requests_total" and s.labels.get("handler") == "/api/v1/query"
    )


def test_it_asks_prometheus_the_same_number_of_queries_for_any_fleet_size(triton, prom, settings) -> None:
    settings.PROMETHEUS_URL = prom
    Server.objects.create(name="one", url=triton.http_url, metrics_url=triton.metrics_url)
    before = queries_served(prom)
    services.scrape_fleet_via_prometheus()
    one = queries_served(prom) - before
    for n in range(20):
        Server.objects.create(name=f"more-{n}", url=f"http://127.0.0.1:{n + 1}")
    before = queries_served(prom)
    services.scrape_fleet_via_prometheus()
    assert queries_served(prom) - before == one == len(services.LIVE_METRICS) + 1


def test_it_marks_a_server_prometheus_does_not_scrape_as_down(prom, settings) -> None:
    settings.PROMETHEUS_URL = prom
    server = Server.objects.create(name="unscraped", url="http://127.0.0.1:1")
    services.scrape_fleet_via_prometheus()
    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert "no target" in server.last_error


def test_it_marks_servers_unknown_when_prometheus_is_unreachable(settings) -> None:
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port_block(1)}"
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    services.scrape_fleet_via_prometheus()
    server.refresh_from_db()
    assert server.status == Server.Status.UNKNOWN
    assert server.last_error.startswith("prometheus:")


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_prometheus_tick_from_beat_in_a_real_worker(triton, prom, celery_worker_factory) -> None:
    server = Server.objects.create(name="via-prom", url=triton.http_url, metrics_url=triton.metrics_url)
    worker = celery_worker_factory("prom", env={"PROMETHEUS_URL": prom, "PROMETHEUS_RATE_WINDOW": "3"})

    def scraped_through_prometheus() -> bool:
        fresh = Server.objects.get(id=server.id)
        return (
            fresh.status == Server.Status.UP
            and "fleet.tasks.scrape_fleet_via_prometheus" in worker.log.read_text()
        )

    worker.wait_for(scraped_through_prometheus, timeout=30)
    assert ModelVersion.objects.filter(server=server, name="fast", state="READY").exists()  # inventory
    # Prometheus is the store in this mode: no rate points of our own.
    assert not [p for p in storage.points(server) if p.metric == "inferences_per_s"]
