"""/api/tokens/: owners list, create and revoke their own API tokens, stored hashed with an expiry."""

from datetime import timedelta

import pytest
import yaml
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(token: str):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_it_creates_a_token_shown_once_and_stored_as_a_digest(viewer) -> None:
    response = session_client(viewer).post(
        "/api/tokens/", {"expires_days": 30}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert token.startswith(body["prefix"]) and len(body["prefix"]) == 15
    row = AuthToken.objects.get(user=viewer)
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128  # SHA-512, hex
    assert abs(row.expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert bearer(token).get("/api/servers/").status_code == 200
    listed = bearer(token).get("/api/tokens/").json()
    assert listed == [
        {"prefix": body["prefix"], "created": body["created"], "expiry": body["expiry"], "current": True}
    ]
    assert "token" not in listed[0]


def test_it_lists_only_the_owners_live_tokens(viewer, operator) -> None:
    mine, _ = AuthToken.objects.create(user=viewer)
    AuthToken.objects.create(user=operator)
    expired, _ = AuthToken.objects.create(user=viewer, expiry=timedelta(seconds=-1))
    prefixes = [row["prefix"] for row in session_client(viewer).get("/api/tokens/").json()]
    assert prefixes == [mine.token_key]
    assert expired.token_key not in prefixes


def test_it_revokes_an_own_token_and_nobody_elses(viewer, operator) -> None:
    _, mine = AuthToken.objects.create(user=viewer)
    theirs_row, theirs = AuthToken.objects.create(user=operator)
    client = bearer(mine)
    assert client.delete(f"/api/tokens/{theirs_row.token_key}/").status_code == 404
    assert bearer(theirs).get("/api/servers/").status_code == 200

    assert client.delete(f"/api/tokens/{mine[:15]}/").status_code == 204
    assert client.get("/api/servers/").status_code == 401


def test_a_token_cannot_mint_one_that_outlives_it(viewer) -> None:
    row, token = AuthToken.objects.create(user=viewer, expiry=timedelta(days=2))
    response = bearer(token).post("/api/tokens/", {"expires_days": 300}, format="json")
    assert response.status_code == 201
    assert AuthToken.objects.get(token_key=response.json()["prefix"]).expiry <= row.expiry


@pytest.mark.parametrize("days", [0, 366, "soon"])
def test_it_refuses_a_bad_expiry_naming_the_field(viewer, days) -> None:
    response = client_for(viewer).post("/api/tokens/", {"expires_days": days}, format="json")
    assert response.status_code == 400
    assert "expires_days" in response.json()
    assert AuthToken.objects.filter(user=viewer).count() == 1  # the client's own


def test_it_refuses_anonymous_callers() -> None:
    assert client_for(None).get("/api/tokens/").status_code == 401
    assert client_for(None).post("/api/tokens/", {}, format="json").status_code == 401


def test_the_schema_documents_the_token_endpoints(viewer) -> None:
    schema = yaml.safe_load(client_for(viewer).get("/api/schema/").content)
    assert set(schema["paths"]["/api/tokens/"]) >= {"get", "post"}
    assert "delete" in schema["paths"]["/api/tokens/{prefix}/"]
