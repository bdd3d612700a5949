"""What follows an alert's change: its frame to the pages and, when it fired or resolved
and is not silenced, one delivery per enabled webhook. After the transaction commits, so
that a page or a webhook never hears of a row that was rolled back."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from ..broadcast import Message, model_group, send, server_group
from ..models import Alert
from . import records, webhooks

# Every page's banner listens here (dashboard's ws-alerts route).
ALERTS_GROUP = "alerts"


def changed(alert_ids: Sequence[int], deliver: bool = True) -> None:
    """Publish these alerts (and queue their webhook deliveries) once committed."""
    ids = list(alert_ids)
    if ids:
        transaction.on_commit(lambda: _publish(ids, deliver))


def _publish(ids: list[int], deliver: bool) -> None:
    # Run in the scrape that changed them: not the servers' counters (records.UNREAD).
    rows = list(Alert.objects.select_related(*records.RELATED).defer(*records.UNREAD).filter(id__in=ids))
    now = timezone.now()
    messages: list[Message] = []
    for row in rows:
        frame = dict(records.alert(row, now))
        groups = [ALERTS_GROUP, server_group(row.server_id)] if row.server_id else [ALERTS_GROUP]
        if row.model:
            groups.append(model_group(row.model))
        messages.extend((group, "fleet.alert", frame) for group in groups)
    send(messages)
    if deliver:
        webhooks.queue(
            [r for r in rows if r.state != Alert.State.PENDING and not records.alert(r, now)["silenced"]]
        )
