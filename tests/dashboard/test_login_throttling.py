"""Login is throttled (django-axes): after FLEET_LOGIN_FAILURE_LIMIT (10) wrong passwords for
one username from one address, even the right password is refused, with a clear message,
until the cool-off ends. Other users and other addresses are not locked out."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

pytestmark = pytest.mark.django_db


def log_in(username: str, password: str, address: str = "10.0.0.1") -> tuple[int, bytes]:
    response = Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})
    return response.status_code, response.content


def test_it_refuses_the_right_password_after_30_wrong_ones(viewer) -> None:
    for _ in range(30):
        status, _ = log_in("vera", "wrong")
        assert status in (200, 429)  # the form again, then the lockout page
    status, content = log_in("vera", "pw-vera")
    assert status == 429
    assert b"Too many failed logins" in content
    assert b"locked after 10 failed" in content


def test_it_locks_only_that_username_from_that_address(viewer, operator) -> None:
    for _ in range(10):
        log_in("vera", "wrong")
    assert log_in("vera", "pw-vera")[0] == 429
    assert log_in("otto", "pw-otto")[0] == 302
    assert log_in("vera", "pw-vera", address="10.0.0.2")[0] == 302


def test_it_lets_the_user_in_after_the_cool_off(viewer) -> None:
    for _ in range(10):
        log_in("vera", "wrong")
    assert log_in("vera", "pw-vera")[0] == 429
    # The cool-off (15 minutes) has passed for these failures.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert log_in("vera", "pw-vera")[0] == 302


def test_it_throttles_the_admin_login_too(admin) -> None:
    client = Client(REMOTE_ADDR="10.0.0.3")
    for _ in range(10):
        client.post("/admin/login/", {"username": "ada", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "ada", "password": "pw-ada"})
    assert response.status_code == 429
