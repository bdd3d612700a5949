"""Django's own `createsuperuser --noinput` makes an admin who can use the API."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from fleet import roles
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_creates_an_admin_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root-admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-password-1")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    call_command("createsuperuser", interactive=False, verbosity=0)
    user = User.objects.get(username="root-admin")
    assert user.check_password("a-long-password-1")
    assert roles.is_admin(user)
    response = client_for(user).post(
        "/api/servers/", {"name": "t", "url": "http://127.0.0.1:1"}, format="json"
    )
    assert response.status_code == 201
