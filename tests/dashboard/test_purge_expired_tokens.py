"""Expired API tokens are refused when presented and deleted by the hourly purge; live ones
stay. (Authentication checks only the presented token, so the purge is what removes the rest.)"""

from datetime import timedelta

from django.utils import timezone
from knox.models import AuthToken

from dashboard.tasks import purge_expired_tokens
from tests.conftest import client_for


def test_it_refuses_and_purges_expired_tokens(operator, viewer) -> None:
    otto = client_for(operator)
    old, token = AuthToken.objects.create(user=viewer, expiry=timedelta(days=1))
    AuthToken.objects.filter(digest=old.digest).update(expiry=timezone.now() - timedelta(seconds=1))
    stale, _ = AuthToken.objects.create(user=operator, expiry=timedelta(days=1))
    AuthToken.objects.filter(digest=stale.digest).update(expiry=timezone.now() - timedelta(minutes=5))

    refused = client_for(None).get("/api/servers/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401
    assert otto.get("/api/servers/").status_code == 200  # otto's other, expired token is left alone

    assert purge_expired_tokens() == 1  # vera's expired token was already deleted when presented
    assert not AuthToken.objects.filter(digest=stale.digest).exists()
    assert otto.get("/api/servers/").status_code == 200
    assert AuthToken.objects.filter(user=operator).count() == 1
