"""A webhook that answers 500 and one that hangs are retried with backoff, then marked
failing, while the worker goes on scraping every interval; a third, healthy one gets its
delivery at its first attempt."""

from __future__ import annotations

import time
from functools import partial

from fleet import own_stats
from fleet.demo.machine import free_port_block
from fleet.models import Alert, AlertRule, Server, Webhook, WebhookDelivery
from tests.celery_process import WorkerProcess

from .receiver import webhook_receiver

ENV = {"FLEET_WEBHOOK_ATTEMPTS": "3", "FLEET_WEBHOOK_BACKOFF": "0.3", "FLEET_WEBHOOK_TIMEOUT": "0.5"}


def test_it_retries_with_backoff_then_marks_failing(celery_worker_factory: object) -> None:
    AlertRule.objects.create(name="down", kind="server_down", for_s=0)
    with webhook_receiver() as broken, webhook_receiver() as hanging, webhook_receiver() as healthy:
        broken.status, hanging.hang_s = 500, 5.0
        hooks = {
            name: Webhook.objects.create(url=r.url, format="json")
            for name, r in (("broken", broken), ("hanging", hanging), ("healthy", healthy))
        }
        port = free_port_block(1)
        dead = Server.objects.create(name="gone", url=f"http://127.0.0.1:{port}")
        worker: WorkerProcess = celery_worker_factory(env=ENV)  # type: ignore[operator]
        alert = worker.wait_for(lambda: Alert.objects.filter(server=dead, state="firing").first())
        fired, scrapes = time.monotonic(), _scrapes(dead.id)

        def ended(name: str) -> WebhookDelivery | None:
            return WebhookDelivery.objects.filter(webhook=hooks[name], alert=alert, status="failed").first()

        # Three attempts, 0.3 s then 0.6 s apart (and 0.5 s timeouts for the hanging one).
        failed = {n: worker.wait_for(partial(ended, n), timeout=30) for n in ("broken", "hanging")}
        took = time.monotonic() - fired
        for name, delivery in failed.items():
            assert delivery.attempts == 3, name
            assert Webhook.objects.get(id=hooks[name].id).failing
        assert failed["broken"].response_code == 500 and failed["broken"].last_error == "HTTP 500"
        assert "Timeout" in failed["hanging"].last_error
        assert len(broken.bodies) == 3
        assert took >= 0.9  # the backoff was waited
        delivered = WebhookDelivery.objects.filter(webhook=hooks["healthy"], alert=alert, status="sent")
        sent = worker.wait_for(delivered.first)
        assert (sent.status, sent.attempts) == ("sent", 1)
        assert healthy.bodies[0]["event"] == "firing" and healthy.bodies[0]["alert"]["id"] == alert.id

        # Scraping never waited for the endpoints: about one scrape per interval all along.
        assert _scrapes(dead.id) - scrapes >= int(took / worker.interval) - 1


def _scrapes(server_id: int) -> float:
    return own_stats.scrape_stats([server_id]).get(server_id, {}).get("scrapes", 0.0)
