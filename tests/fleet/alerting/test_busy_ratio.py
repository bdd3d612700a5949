"""The busy ratio of a 1-instance model with 50 ms of compute (the demo's `slow`) driven
at ~25 %, ~50 % and ~100 % of its capacity (20 requests/s) reads 0.25, 0.5 and 1.0 (±0.1),
on FleetDeck's own /metrics, as an autoscaler reads it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.test import Client

from fleet import services
from fleet.demo.localfleet import TritonProcess

from .drive import closed_loop, open_loop

pytestmark = pytest.mark.django_db


def _read(server_name: str, metric: str) -> float:
    body = Client().get("/metrics").content.decode()
    pattern = rf'^{metric}\{{model="slow",server="{re.escape(server_name)}"\}} (\S+)$'
    found = re.search(pattern, body, re.MULTILINE)
    assert found, f"{metric} of slow missing from /metrics"
    return float(found.group(1))


def test_it_reads_the_busy_ratio_at_a_quarter_a_half_and_full(triton: TritonProcess, server_for: Any) -> None:
    server = server_for(triton, "busy-host")
    services.scrape_server(server.id)  # the baseline, and the config of slow
    readings = {}
    for share, rate in ((0.25, 5.0), (0.5, 10.0)):
        services.scrape_server(server.id)
        open_loop(server.url, "slow", rate, seconds=4.0)
        services.scrape_server(server.id)
        readings[share] = _read(server.name, "fleetdeck_model_busy_ratio")
    services.scrape_server(server.id)
    traffic = closed_loop(server.url, "slow", callers=3, seconds=4.5)
    time.sleep(0.3)  # the queue is full before the window opens
    services.scrape_server(server.id)
    time.sleep(3.5)
    services.scrape_server(server.id)
    readings[1.0] = _read(server.name, "fleetdeck_model_busy_ratio")
    queue_s = _read(server.name, "fleetdeck_model_queue_seconds_per_request")
    traffic.join()
    for share, busy in readings.items():
        assert busy == pytest.approx(share, abs=0.1), readings
    # Three callers on one 50 ms instance: each waits for the two others, ~100 ms.
    assert 0.05 < queue_s < 0.2
    assert _read(server.name, "fleetdeck_model_pending_requests") >= 0
