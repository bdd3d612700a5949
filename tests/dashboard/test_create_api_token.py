"""`manage.py create_api_token USERNAME` prints a token that authenticates as that user."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_bearer_token_for_the_user(viewer) -> None:
    token = run(viewer.username)
    assert run(viewer.username) == token  # the same token until rotated
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/servers/").status_code == 200

    rotated = run(viewer.username, "--rotate")
    assert rotated != token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/servers/").status_code == 401


def test_it_names_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run("nobody")
