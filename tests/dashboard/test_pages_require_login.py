"""Every dashboard page sends an anonymous visitor to the login page."""

import pytest
from django.test import Client

from fleet.models import Server

pytestmark = pytest.mark.django_db


def test_it_redirects_anonymous_visitors_to_login() -> None:
    server = Server.objects.create(name="s1", url="http://127.0.0.1:9")
    for path in ("/", f"/servers/{server.id}/", f"/servers/{server.id}/models/fast/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_it_logs_in_through_the_login_page_and_out_by_post(viewer) -> None:
    client = Client()
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "vera", "password": "pw-vera", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # logging out takes a POST
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
