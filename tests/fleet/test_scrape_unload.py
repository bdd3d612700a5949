"""Unload a model: its state becomes UNAVAILABLE and its series stop, with a gap, not zeros."""

import time
from datetime import timedelta

import pytest
import requests

from fleet import services, storage
from fleet.demo.traffic import send_inferences
from fleet.models import ModelEvent, ModelVersion

pytestmark = pytest.mark.django_db


def wait_state(url: str, model: str, state: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        index = requests.post(f"{url}/v2/repository/index", timeout=5).json()
        if any(row["name"] == model and row.get("state") == state for row in index):
            return
        time.sleep(0.1)
    raise AssertionError(f"{model} never became {state}")


def test_it_marks_the_model_unavailable_and_stops_its_series(triton_factory, server_for, settings) -> None:
    settings.FLEET_SCRAPE_INTERVAL = 0.3
    server = server_for(triton_factory())
    for _ in range(3):
        send_inferences(server.url, "fast", 5)
        services.scrape_server(server.id)
        time.sleep(0.3)
    assert ModelVersion.objects.get(server=server, name="fast", version="1").state == "READY"

    requests.post(f"{server.url}/v2/repository/models/fast/unload", json={}, timeout=10).raise_for_status()
    wait_state(server.url, "fast", "UNAVAILABLE")
    unloaded_at = time.time()
    for _ in range(4):
        services.scrape_server(server.id)
        time.sleep(0.3)

    row = ModelVersion.objects.get(server=server, name="fast", version="1")
    assert (row.state, row.reason) == ("UNAVAILABLE", "unloaded")
    assert ModelEvent.objects.filter(server=server, name="fast", new_state="UNAVAILABLE").exists()
    after = [p for p in storage.points(server, since=_dt(unloaded_at)) if p.model == "fast"]
    assert not after, "an unloaded model must get no points (no fake zeros)"

    requests.post(f"{server.url}/v2/repository/models/fast/load", json={}, timeout=30).raise_for_status()
    for _ in range(3):
        send_inferences(server.url, "fast", 5)
        services.scrape_server(server.id)
        time.sleep(0.3)
    points = storage.query(
        storage.SeriesQuery(
            server=server, metric="inferences_per_s", since=timedelta(minutes=5), model="fast"
        )
    )
    values = [v for _, v in points]
    assert None in values, "the unload must show as a gap"
    gap = values.index(None)
    assert values[:gap] and values[gap + 1 :]
    assert all(v is None or v >= 0 for v in values)


def _dt(ts: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC)
