"""A 1-instance model with 50 ms of compute (`slow`), driven above its capacity while a real
Celery worker scrapes every interval, fires its queue-time alert with the cause "saturated"
(and the busy ratio behind it) within 3 intervals; the alert resolves once traffic stops."""

from __future__ import annotations

import time
from typing import Any

from fleet.demo.localfleet import TritonProcess
from fleet.models import Alert, AlertRule, ModelConfig, Server
from tests.celery_process import WorkerProcess

from .drive import closed_loop


def test_it_fires_saturated_within_three_intervals_and_resolves(
    triton: TritonProcess, server_for: Any, celery_worker_process: WorkerProcess
) -> None:
    worker = celery_worker_process
    rule = AlertRule.objects.create(name="queue > 20 ms", kind="queue_time", threshold=20_000, for_s=1.0)
    server = server_for(triton, "saturated-host")
    worker.wait_for(
        lambda: (
            Server.objects.filter(id=server.id, status="up").exists()
            and ModelConfig.objects.filter(server=server, name="slow").exists()
        )
    )
    traffic = closed_loop(server.url, "slow", callers=4, seconds=6.0)
    started = time.monotonic()
    alert = worker.wait_for(
        lambda: Alert.objects.filter(rule=rule, model="slow", state="firing").first(), timeout=20
    )
    took = time.monotonic() - started
    assert took <= 3 * worker.interval + 0.5, f"fired after {took:.2f} s"
    assert alert.detail["code"] == "saturated", alert.cause
    # ≥ 0.9, or ≥ 0.75 with requests waiting longer than they compute (fleet.alerting.causes:
    # under CI's load the backend's time outside compute infer kept busy at 0.81).
    assert alert.detail["busy"] >= 0.75 and alert.detail["instances"] == 1
    assert alert.cause.startswith("saturated: the model's 1 instance busy"), alert.cause
    assert alert.value is not None and alert.value > 20_000
    assert not Alert.objects.filter(rule=rule, model="fast").exists()  # its queue stays short

    traffic.join()
    stopped = time.monotonic()
    worker.wait_for(lambda: Alert.objects.filter(id=alert.id, state="resolved").exists(), timeout=20)
    assert time.monotonic() - stopped <= 3 * worker.interval + 0.5
    # One incident, deduplicated per (rule, target): not one row per scrape.
    assert Alert.objects.filter(rule=rule, model="slow").count() == 1
