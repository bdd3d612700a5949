"""The per-server auth header value (--http-restricted-api) goes in and never comes out: not in
API answers, not in the admin's pages, not in log lines."""

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

from fleet import services
from fleet.models import Server
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SECRET = "s3cret-header-value"


def test_the_api_takes_the_value_and_never_answers_it(admin) -> None:
    client = client_for(admin)
    body = {
        "name": "r1",
        "url": "http://127.0.0.1:9",
        "auth_header_name": "x-key",
        "auth_header_value": SECRET,
    }
    created = client.post("/api/servers/", body, format="json")
    assert created.status_code == 201
    assert Server.objects.get(name="r1").headers == {"x-key": SECRET}
    listed = client.get("/api/servers/")
    for response in (created, listed):
        assert SECRET.encode() not in response.content
    assert listed.json()[0]["auth_header_name"] == "x-key"
    assert "auth_header_value" not in listed.json()[0]


def test_the_admin_never_renders_the_value_and_keeps_it_on_save() -> None:
    root = User.objects.create_superuser("root", password="pw-root")
    server = Server.objects.create(
        name="r1", url="http://127.0.0.1:9", auth_header_name="x-key", auth_header_value=SECRET
    )
    client = Client()
    client.force_login(root)
    page = client.get(f"/admin/fleet/server/{server.id}/change/")
    assert page.status_code == 200
    assert SECRET.encode() not in page.content

    form = {
        "name": "r1",
        "url": "http://127.0.0.1:9",
        "metrics_url": server.metrics_url,
        "auth_header_name": "x-key",
        "auth_header_value": "",
        "labels": "{}",
        "reload_strategy": server.reload_strategy,
    }
    saved = client.post(f"/admin/fleet/server/{server.id}/change/", form)
    assert saved.status_code == 302, saved.content
    server.refresh_from_db()
    assert server.auth_header_value == SECRET  # left empty: kept

    client.post(f"/admin/fleet/server/{server.id}/change/", {**form, "clear_auth_header_value": "on"})
    server.refresh_from_db()
    assert server.auth_header_value == ""


def test_a_failing_scrape_logs_no_secret(caplog) -> None:
    server = Server.objects.create(
        name="r1", url="http://127.0.0.1:9", auth_header_name="x-key", auth_header_value=SECRET
    )
    with caplog.at_level(logging.DEBUG):
        services.scrape_server(server.id)
    server.refresh_from_db()
    assert server.status == Server.Status.DOWN and caplog.records
    assert SECRET not in caplog.text and SECRET not in server.last_error
