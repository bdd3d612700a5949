"""An operator silences a pending server_down alert: it still fires and shows, marked
silenced, but no webhook hears of it; the unsilenced alert of another dead server is
delivered as usual."""

from __future__ import annotations

from django.contrib.auth.models import User

from fleet.demo.machine import free_port_block
from fleet.models import Alert, AlertRule, Server, Webhook, WebhookDelivery
from tests.celery_process import WorkerProcess

from ...conftest import client_for
from .receiver import webhook_receiver


def test_it_sends_no_webhook_for_a_silenced_alert(
    celery_worker_process: WorkerProcess, operator: User
) -> None:
    worker = celery_worker_process
    AlertRule.objects.create(name="down", kind="server_down", for_s=3 * worker.interval)
    with webhook_receiver() as receiver:
        Webhook.objects.create(url=receiver.url, format="slack")
        quiet = Server.objects.create(name="quiet", url=f"http://127.0.0.1:{free_port_block(1)}")
        loud = Server.objects.create(name="loud", url=f"http://127.0.0.1:{free_port_block(1)}")
        pending = worker.wait_for(lambda: Alert.objects.filter(server=quiet, state="pending").first())
        answer = client_for(operator).post(
            f"/api/alerts/{pending.id}/silence/", {"seconds": 3600}, format="json"
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["silenced"] and answer.json()["silenced_by"] == "otto"

        loud_alert = worker.wait_for(lambda: Alert.objects.filter(server=loud, state="firing").first())
        worker.wait_for(lambda: Alert.objects.filter(id=pending.id, state="firing").exists())
        worker.wait_for(lambda: WebhookDelivery.objects.filter(alert=loud_alert, status="sent").exists())
        assert any("loud" in body["text"] for body in receiver.bodies)
        assert not any("quiet" in body["text"] for body in receiver.bodies)
        assert not WebhookDelivery.objects.filter(alert_id=pending.id).exists()
        listed = client_for(operator).get("/api/alerts/?state=firing").json()
        assert {(a["server_name"], a["silenced"]) for a in listed} == {("quiet", True), ("loud", False)}
