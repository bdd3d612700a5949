"""Webhooks: where alerts go when they fire or resolve, in one of three formats, delivered
by Celery tasks with retries and backoff.

A delivery is a row (the log: status, attempts, the last error). The task takes its id,
claims the attempt atomically and posts once with a bounded timeout; on failure it is sent
again after FLEET_WEBHOOK_BACKOFF × 2^(attempt − 1) s, until FLEET_WEBHOOK_ATTEMPTS, then
the delivery is failed and the webhook marked failing. Deliveries have a queue of their own
(FLEET_NOTIFY_QUEUE, routed in config/settings.py), which the Procfile and docker-compose.yml
give a thread-pool worker of its own: loads holding every slot of the main worker for
minutes cannot hold an alert back, a hanging endpoint costs one thread for at most the
timeout, and no scrape waits for it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import requests
from celery import current_app
from django.conf import settings
from django.utils import timezone

from ..models import Alert, Webhook, WebhookDelivery, validate_http_url
from . import records

log = logging.getLogger(__name__)

DELIVER_TASK = "fleet.tasks.deliver_webhook"  # registered in fleet/tasks.py


def queue(alerts: Sequence[Alert]) -> list[int]:
    """One delivery per enabled webhook per alert (its current state as the event)."""
    hooks = list(Webhook.objects.filter(enabled=True).values_list("id", flat=True))
    if not hooks or not alerts:
        return []
    rows = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(webhook_id=h, alert_id=a.id, event=a.state) for a in alerts for h in hooks]
    )
    for row in rows:
        send(row.id)
    return [row.id for row in rows]


def send(delivery_id: int, countdown: float | None = None) -> None:
    try:
        task = current_app.signature(DELIVER_TASK, args=(delivery_id,))
        # No countdown at all for a first attempt: a countdown makes an ETA task, which the
        # worker holds in its timer instead of running it at once.
        task.apply_async(countdown=countdown) if countdown else task.apply_async()
    except Exception:  # the broker is down: the row stays pending, visible in the log
        log.exception("could not queue webhook delivery %s", delivery_id)


def _labels(alert: records.AlertRecord) -> dict[str, str]:
    labels = {"alertname": alert["kind"], "rule": alert["rule_name"] or str(alert["rule"])}
    if alert["server_name"]:
        labels["server"] = alert["server_name"]
    if alert["model"]:
        labels["model"] = alert["model"]
    cause = alert["detail"].get("code")
    if cause:
        labels["cause"] = str(cause)
    return labels


def payload(fmt: str, alert: records.AlertRecord, event: str) -> dict[str, Any]:
    """The body for one alert change in the webhook's format."""
    if fmt == Webhook.Format.SLACK:
        where = " / ".join(p for p in (alert["server_name"], alert["model"]) if p)
        icon = ":white_check_mark:" if event == "resolved" else ":rotating_light:"
        return {"text": f"{icon} [{event.upper()}] {alert['kind']} on {where}: {alert['cause']}"}
    if fmt == Webhook.Format.ALERTMANAGER:
        labels = _labels(alert)
        fingerprint = hashlib.sha256(f"{alert['rule']}|{alert['server_id']}|{alert['model']}".encode())
        item = {
            "status": event,
            "labels": labels,
            "annotations": {"summary": alert["cause"], "description": str(alert["detail"])},
            "startsAt": alert["fired_at"] or alert["started_at"],
            "endsAt": alert["resolved_at"] or "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": fingerprint.hexdigest()[:16],
        }
        return {
            "version": "4",
            "groupKey": f"fleetdeck:{alert['id']}",
            "truncatedAlerts": 0,
            "status": event,
            "receiver": "fleetdeck",
            "groupLabels": {"alertname": alert["kind"]},
            "commonLabels": labels,
            "commonAnnotations": item["annotations"],
            "externalURL": "",
            "alerts": [item],
        }
    return {"event": event, "alert": dict(alert)}


def deliver(delivery_id: int) -> float | None:
    """One attempt; returns seconds until the next one, or None when done (or not ours)."""
    row = (
        WebhookDelivery.objects.select_related("webhook", *(f"alert__{name}" for name in records.RELATED))
        .filter(id=delivery_id, status=WebhookDelivery.Status.PENDING)
        .first()
    )
    if row is None:
        return None
    attempt = row.attempts + 1
    claimed = WebhookDelivery.objects.filter(
        id=row.id, status=WebhookDelivery.Status.PENDING, attempts=row.attempts
    ).update(attempts=attempt)
    if not claimed:
        return None  # a redelivered task raced us to this attempt
    body = payload(row.webhook.format, records.alert(row.alert), row.event)
    code: int | None = None
    try:
        answer = requests.post(
            row.webhook.url,
            json=body,
            timeout=(settings.FLEET_HTTP_CONNECT_TIMEOUT, settings.FLEET_WEBHOOK_TIMEOUT),
            allow_redirects=False,
        )
        code = answer.status_code
        error = "" if 200 <= code < 300 else f"HTTP {code}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    if not error:
        WebhookDelivery.objects.filter(id=row.id).update(
            status=WebhookDelivery.Status.SENT, response_code=code, sent_at=now, last_error=""
        )
        Webhook.objects.filter(id=row.webhook_id, failing=True).update(failing=False)
        return None
    log.info("webhook delivery %s attempt %s: %s", row.id, attempt, error)
    if attempt >= settings.FLEET_WEBHOOK_ATTEMPTS:
        WebhookDelivery.objects.filter(id=row.id).update(
            status=WebhookDelivery.Status.FAILED, response_code=code, last_error=error
        )
        Webhook.objects.filter(id=row.webhook_id).update(failing=True)
        return None
    WebhookDelivery.objects.filter(id=row.id).update(response_code=code, last_error=error)
    return float(settings.FLEET_WEBHOOK_BACKOFF * 2 ** (attempt - 1))


def retry_or_finish(delivery_id: int) -> None:
    """The task's body: attempt, and queue the next attempt after its backoff."""
    wait = deliver(delivery_id)
    if wait is not None:
        send(delivery_id, countdown=wait)


def create(url: str, fmt: str, user: Any) -> Webhook:
    """A webhook; django's ValidationError when the URL is not http(s) with a host."""
    validate_http_url(url)
    hook = Webhook.objects.create(url=url, format=fmt, created_by=user if getattr(user, "pk", None) else None)
    log.info("webhook #%s (%s) created by %s", hook.id, fmt, getattr(user, "username", "-"))
    return hook
