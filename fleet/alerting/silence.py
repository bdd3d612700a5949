"""Silencing an alert for a while (operators): it still shows, marked, and sends no webhook
until the silence ends. Audited: the row keeps who and until when, and the log says so."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..models import Alert
from . import notify

log = logging.getLogger(__name__)

MAX_SECONDS = 30 * 24 * 3600


def silence(alert: Alert, seconds: float, user: Any) -> Alert:
    """Silence for `seconds` from now (0 lifts a silence)."""
    until = timezone.now() + timedelta(seconds=seconds) if seconds > 0 else None
    who = user if getattr(user, "pk", None) else None
    Alert.objects.filter(id=alert.id).update(silenced_until=until, silenced_by=who, updated_at=timezone.now())
    log.info(
        "alert #%s (%s on %s) silenced by %s for %s s",
        alert.id, alert.kind, alert.target, getattr(user, "username", "-"), seconds,
    )  # fmt: skip
    notify.changed([alert.id], deliver=False)
    return Alert.objects.select_related("rule", "server", "silenced_by").get(id=alert.id)
