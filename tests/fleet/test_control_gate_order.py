"""One control gate for the API, the page's buttons and the CLI, in a fixed order:
read-only → unknown server → role → name → model. Nothing asks Triton before the role
check passed: a viewer (or a user with no role) naming an unknown model makes no call."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from fleet.models import Action, Server
from tests.conftest import _actor, client_for

pytestmark = pytest.mark.django_db


class _Counting(BaseHTTPRequestHandler):
    """Stands where Triton would: counts every request and answers none usefully."""

    def _count(self) -> None:
        self.server.hits.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _count

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counted() -> Iterator[tuple[Server, list[str]]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    httpd.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield Server.objects.create(name="counted", url=url, metrics_url=f"{url}/metrics"), httpd.hits  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


def _api(user, server_id: int, model: str = "nosuch"):
    return client_for(user).post(f"/api/servers/{server_id}/models/{model}/load/", {}, format="json")


def test_it_refuses_a_viewer_before_any_call_to_triton(viewer, operator, counted) -> None:
    server, hits = counted
    refused = _api(viewer, server.id)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert "vera is not an operator" in refused.json()["detail"]
    assert hits == []
    # The same request from an operator passes the role check, so FleetDeck asks Triton's
    # index for the model it does not know yet (and this fixture counts that call).
    missing = _api(operator, server.id)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert any("/v2/repository/index" in hit for hit in hits)
    assert not Action.objects.exists()


def test_it_refuses_a_user_with_no_role(counted) -> None:
    server, hits = counted
    nobody = _actor("nora")  # signed in, in no group
    assert _api(nobody, server.id).status_code == 403
    assert _api(nobody, server.id, "a..b").status_code == 403  # the role before the name
    assert hits == []


def test_it_checks_read_only_mode_then_the_server_then_the_role(viewer, operator, counted, settings) -> None:
    server, hits = counted
    assert _api(viewer, server.id + 1000).status_code == 404  # unknown server before the role
    assert _api(operator, server.id, "a..b").status_code == 400  # the name before the model
    settings.FLEET_READ_ONLY = True
    for user in (viewer, operator):
        refused = _api(user, server.id + 1000)
        assert (refused.status_code, refused.json()["code"]) == (403, "read_only")
    assert hits == []


def test_it_refuses_the_same_way_on_the_page_and_in_the_cli(viewer, operator, counted) -> None:
    server, hits = counted
    page = Client()
    page.force_login(viewer)
    answer = page.post(f"/control/{server.id}/nosuch/", {"kind": "load"})
    assert answer.status_code == 403
    assert b"not an operator" in answer.content
    with pytest.raises(CommandError, match="not an operator") as refused:
        call_command("fleet", "load", str(server.id), "nosuch", "--user", "vera")
    assert refused.value.returncode == 2
    assert hits == []

    page.force_login(operator)
    assert page.post(f"/control/{server.id}/nosuch/", {"kind": "load"}).status_code == 404
    with pytest.raises(CommandError, match="no model 'nosuch'") as unknown:
        call_command("fleet", "load", "counted", "nosuch", "--user", "otto")
    assert unknown.value.returncode == 2
    assert not Action.objects.exists()
