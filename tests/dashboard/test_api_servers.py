"""GET/POST /api/servers/: token auth, admin-only registration, clear errors on bad URLs."""

import pytest

from fleet.models import Server
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_anonymous_and_bad_tokens() -> None:
    assert client_for(None).get("/api/servers/").status_code == 401
    bad = client_for(None)
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad.get("/api/servers/").status_code == 401


def test_it_lists_servers_for_a_viewer(viewer) -> None:
    Server.objects.create(name="t1", url="http://triton-a:8000")
    response = client_for(viewer).get("/api/servers/")
    assert response.status_code == 200
    (row,) = response.json()
    assert row["name"] == "t1"
    assert row["metrics_url"] == "http://triton-a:8002/metrics"
    assert set(row) >= {"id", "name", "url", "metrics_url", "status", "last_scrape_at", "last_error"}


@pytest.mark.parametrize("actor", ["viewer", "operator"])
def test_it_lets_only_admins_register_servers(actor, request) -> None:
    user = request.getfixturevalue(actor)
    response = client_for(user).post(
        "/api/servers/", {"name": "t2", "url": "http://127.0.0.1:1"}, format="json"
    )
    assert response.status_code == 403
    assert not Server.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "url": "ftp://host:8000"}, "url"),
        ({"name": "x", "url": "http://"}, "url"),
        ({"name": "x", "url": "triton:8000"}, "url"),
        ({"name": "x", "url": "http://h:8000", "metrics_url": "gopher://h/metrics"}, "metrics_url"),
        ({"url": "http://h:8000"}, "name"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(admin, body, field) -> None:
    response = client_for(admin).post("/api/servers/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Server.objects.exists()


def test_it_saves_an_unreachable_server_and_records_why(admin, celery_worker_process) -> None:
    response = client_for(admin).post(
        "/api/servers/", {"name": "ghost", "url": "http://127.0.0.1:9"}, format="json"
    )
    assert response.status_code == 201
    server = Server.objects.get(name="ghost")
    server = celery_worker_process.wait_for(
        lambda: Server.objects.get(id=server.id) if Server.objects.get(id=server.id).last_error else None
    )
    assert server.status == Server.Status.DOWN
    assert "cannot connect" in server.last_error
