"""Silencing an alert for a while, and acknowledging one (operators). A silenced alert still
shows, marked, and sends no webhook until the silence ends; an acknowledged one says who is
on it and changes nothing else. Audited: the row keeps who and when, and the log says so."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..models import Alert
from . import notify, records

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
    return Alert.objects.select_related(*records.RELATED).get(id=alert.id)


def acknowledge(alert: Alert, user: Any) -> Alert:
    """Mark that `user` is on it (again: the latest one counts)."""
    who = user if getattr(user, "pk", None) else None
    now = timezone.now()
    Alert.objects.filter(id=alert.id).update(acknowledged_at=now, acknowledged_by=who, updated_at=now)
    log.info(
        "alert #%s (%s on %s) acknowledged by %s",
        alert.id,
        alert.kind,
        alert.target,
        getattr(user, "username", "-"),
    )
    notify.changed([alert.id], deliver=False)
    return Alert.objects.select_related(*records.RELATED).get(id=alert.id)
