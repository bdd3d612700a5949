"""Unreachable, malformed or oversized metrics: error recorded, earlier data untouched."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fleet import services, storage
from fleet.demo.machine import free_port_block
from fleet.models import Server

pytestmark = pytest.mark.django_db


class Body:
    text = b""


@pytest.fixture
def metrics_endpoint() -> Iterator[tuple[str, type[Body]]]:
    """A real HTTP server on loopback that answers /metrics with Body.text."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(Body.text)))
            self.end_headers()
            self.wfile.write(Body.text)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/metrics", Body
    httpd.shutdown()


def test_it_marks_an_unreachable_server_down_with_the_reason() -> None:
    port = free_port_block(3)
    server = Server.objects.create(name="nowhere", url=f"http://127.0.0.1:{port}")
    services.scrape_server(server.id)
    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert "cannot connect" in server.last_error
    assert not storage.points(server)


@pytest.mark.parametrize(
    "body, error",
    [
        (b"<html>502 Bad Gateway</html>", "not Prometheus text"),
        (b"# TYPE up gauge\nup 1\n", "no nv_* metrics"),
        (b"nv_inference_count 1\n" * 200_000, "larger than"),
    ],
)
def test_it_keeps_earlier_data_when_the_body_is_bad(
    triton, metrics_endpoint, settings, body: bytes, error: str
) -> None:
    settings.FLEET_METRICS_MAX_BYTES = 1_000_000
    url, served = metrics_endpoint
    served.text = triton_body = requests.get(triton.metrics_url, timeout=5).content
    server = Server.objects.create(name="proxy", url=triton.http_url, metrics_url=url)
    services.scrape_server(server.id)
    services.scrape_server(server.id)
    before = storage.points(server)
    assert before and triton_body

    served.text = body
    services.scrape_server(server.id)

    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert error in server.last_error
    points = storage.points(server)
    assert [p for p in points if p in before] == before
    # What the bad scrape added is a gap marker in each series, no value.
    added = [p for p in points if p not in before]
    assert added and {p.value for p in added} == {None}
    served.text = triton_body
    services.scrape_server(server.id)
    server.refresh_from_db()
    assert server.status == Server.Status.UP
