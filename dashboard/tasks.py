"""The dashboard's own upkeep on beat (Celery finds this module through autodiscovery)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from knox.models import AuthToken


@shared_task(ignore_result=True)
def purge_expired_tokens() -> int:
    """Delete expired API tokens: authentication checks only the token presented
    (dashboard.auth), so the others' expiry is enforced by their expiry and cleaned here."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
