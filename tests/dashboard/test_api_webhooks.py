"""Webhooks over the API: admins add them (http(s) URLs only, a known format) and read their
delivery log; operators and viewers may not see them (their URLs are secrets)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fleet.models import Webhook

from ..conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_lets_admins_add_and_list_webhooks(admin: User) -> None:
    ada = client_for(admin)
    body = {"url": "https://hooks.example/a", "format": "alertmanager"}
    made = ada.post("/api/webhooks/", body, format="json")
    assert made.status_code == 201, made.content
    hook = made.json()
    assert (hook["url"], hook["format"], hook["failing"]) == (body["url"], "alertmanager", False)
    assert ada.get("/api/webhooks/").json() == [hook]
    assert ada.get(f"/api/webhooks/{hook['id']}/deliveries/").json() == []


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example/a", "file:///etc/passwd", "javascript:alert(1)", "http://"]
)
def test_it_refuses_a_url_that_is_not_http(admin: User, url: str) -> None:
    answer = client_for(admin).post("/api/webhooks/", {"url": url, "format": "json"}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["url"]
    assert not Webhook.objects.exists()


def test_it_refuses_an_unknown_format(admin: User) -> None:
    answer = client_for(admin).post("/api/webhooks/", {"url": "http://h/a", "format": "pager"}, format="json")
    assert answer.status_code == 400 and list(answer.json()) == ["format"]


def test_it_hides_webhooks_from_operators(operator: User, viewer: User) -> None:
    hook = Webhook.objects.create(url="https://hooks.slack.example/T0/B0/secret", format="slack")
    for user in (operator, viewer):
        client = client_for(user)
        assert client.get("/api/webhooks/").status_code == 403
        assert client.post("/api/webhooks/", {"url": "http://h/", "format": "json"}).status_code == 403
        assert client.get(f"/api/webhooks/{hook.id}/deliveries/").status_code == 403
