"""`manage.py create_api_token USERNAME` prints a new token, once, that authenticates as that user."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def status_with(token: str) -> int:
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/servers/").status_code


def test_it_prints_a_new_bearer_token_each_time_until_rotated(viewer) -> None:
    first = run(viewer.username)
    second = run(viewer.username)
    assert first != second
    assert status_with(first) == status_with(second) == 200

    rotated = run(viewer.username, "--rotate")
    assert status_with(first) == status_with(second) == 401
    assert status_with(rotated) == 200


def test_it_stores_only_a_digest_with_the_asked_expiry(viewer) -> None:
    token = run(viewer.username, "--expires-days", "7")
    row = AuthToken.objects.get(user=viewer)
    assert token not in (row.digest, row.token_key) and token.startswith(row.token_key)
    assert abs(row.expiry - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_it_refuses_an_expired_token(viewer) -> None:
    token = run(viewer.username, "--expires-days", "1")
    AuthToken.objects.filter(user=viewer).update(expiry=timezone.now() - timedelta(seconds=1))
    assert status_with(token) == 401


@pytest.mark.parametrize("days", ["0", "366"])
def test_it_refuses_an_expiry_out_of_bounds(viewer, days) -> None:
    with pytest.raises(CommandError, match="--expires-days must be 1 to 365"):
        run(viewer.username, "--expires-days", days)
    assert not AuthToken.objects.exists()


def test_it_names_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run("nobody")
