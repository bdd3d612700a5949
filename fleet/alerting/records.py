"""The one wire format of each on-call object: the API's answer, the `fleet.alert` frame
and the pages' seeds are built here and nowhere else."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.utils import timezone

from ..frames import iso
from ..models import Alert, AlertRule, Webhook, WebhookDelivery

RELATED = ("rule", "server", "silenced_by", "acknowledged_by")
# What a record never reads of the related rows, and costs most to load: the server's last
# counters and summary (JSON, tens of kB each, parsed once per alert row).
UNREAD = ("server__last_counters", "server__summary")


class AlertRecord(TypedDict):
    id: int
    rule: int
    rule_name: str
    kind: str
    server_id: int | None
    server_name: str
    model: str
    state: str  # pending | firing | resolved
    value: float | None
    cause: str
    detail: dict[str, Any]
    started_at: str | None
    fired_at: str | None
    resolved_at: str | None
    silenced_until: str | None
    silenced: bool  # silenced_until is in the future
    silenced_by: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None


class RuleRecord(TypedDict):
    id: int
    name: str
    kind: str
    threshold: float | None
    for_s: float
    selector: dict[str, str]
    server: int | None
    model: str
    enabled: bool
    builtin: bool


class WebhookRecord(TypedDict):
    id: int
    url: str
    format: str
    enabled: bool
    failing: bool
    created_at: str | None


class DeliveryRecord(TypedDict):
    id: int
    webhook: int
    alert: int
    event: str
    status: str
    attempts: int
    response_code: int | None
    last_error: str
    created_at: str | None
    sent_at: str | None


def alert(row: Alert, now: datetime | None = None) -> AlertRecord:
    """select_related(*RELATED) when serializing many."""
    now = now or timezone.now()
    return {
        "id": row.id,
        "rule": row.rule_id,
        "rule_name": row.rule.name,
        "kind": row.kind,
        "server_id": row.server_id,
        "server_name": row.server.name if row.server else "",
        "model": row.model,
        "state": row.state,
        "value": row.value,
        "cause": row.cause,
        "detail": row.detail,
        "started_at": iso(row.started_at),
        "fired_at": iso(row.fired_at),
        "resolved_at": iso(row.resolved_at),
        "silenced_until": iso(row.silenced_until),
        "silenced": row.silenced_until is not None and row.silenced_until > now,
        "silenced_by": row.silenced_by.username if row.silenced_by else None,
        "acknowledged_at": iso(row.acknowledged_at),
        "acknowledged_by": row.acknowledged_by.username if row.acknowledged_by else None,
    }


def rule(row: AlertRule) -> RuleRecord:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "threshold": row.threshold,
        "for_s": row.for_s,
        "selector": dict(row.selector or {}),
        "server": row.server_id,
        "model": row.model,
        "enabled": row.enabled,
        "builtin": row.builtin,
    }


def webhook(row: Webhook) -> WebhookRecord:
    return {
        "id": row.id,
        "url": row.url,
        "format": row.format,
        "enabled": row.enabled,
        "failing": row.failing,
        "created_at": iso(row.created_at),
    }


def delivery(row: WebhookDelivery) -> DeliveryRecord:
    return {
        "id": row.id,
        "webhook": row.webhook_id,
        "alert": row.alert_id,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "response_code": row.response_code,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }
