"""Triton killed: with a real Celery worker scraping every interval, `server_down` fires
within 2 intervals and a local receiver gets the Alertmanager-format payload; after a
restart the alert resolves and the receiver hears that too."""

from __future__ import annotations

import time
from typing import Any

from fleet.alerting.defaults import default_rules
from fleet.models import Alert, AlertRule, Server, Webhook, WebhookDelivery
from tests.celery_process import WorkerProcess
from tests.triton_fixtures import TritonFactory

from .receiver import webhook_receiver


def test_it_fires_server_down_and_posts_it_to_alertmanager(
    triton_factory: TritonFactory, server_for: Any, celery_worker_process: WorkerProcess
) -> None:
    worker = celery_worker_process
    for fields in default_rules(worker.interval):  # what migration 0010 installs
        AlertRule.objects.create(builtin=True, **fields)
    triton = triton_factory(models=["fast"], name="doomed")
    with webhook_receiver() as receiver:
        Webhook.objects.create(url=receiver.url, format="alertmanager")
        server = server_for(triton)
        worker.wait_for(lambda: Server.objects.filter(id=server.id, status="up").exists())
        triton.kill()
        killed = time.monotonic()
        alert = worker.wait_for(
            lambda: Alert.objects.filter(server=server, kind="server_down", state="firing").first()
        )
        took = time.monotonic() - killed
        # Two intervals, and the poll's own granularity and a busy worker's slack.
        assert took <= 2 * worker.interval + 1.0, f"fired {took:.2f} s after the kill"
        body = worker.wait_for(lambda: next((b for b in receiver.bodies if b["status"] == "firing"), None))
        assert body["version"] == "4" and body["receiver"] == "fleetdeck"
        (item,) = body["alerts"]
        assert item["labels"]["alertname"] == "server_down"
        assert item["labels"]["server"] == "doomed"
        assert item["status"] == "firing" and item["endsAt"] == "0001-01-01T00:00:00Z"
        assert "down" in item["annotations"]["summary"]

        triton.start()
        triton.wait_ready()
        worker.wait_for(lambda: Alert.objects.filter(id=alert.id, state="resolved").exists(), timeout=30)
        resolved = worker.wait_for(
            lambda: next((b for b in receiver.bodies if b["status"] == "resolved"), None)
        )
        assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
        sent = WebhookDelivery.objects.filter(alert=alert, status="sent")
        # The receiver hears a delivery a moment before the worker records it as sent.
        worker.wait_for(lambda: sent.count() == 2, timeout=10)
        assert sorted(sent.values_list("event", flat=True)) == ["firing", "resolved"]
        assert all(d.attempts == 1 and d.response_code == 200 for d in sent)
