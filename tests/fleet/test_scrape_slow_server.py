"""A server that hangs is cut off by the read timeout: marked down, the scrape moves on."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fleet import services
from fleet.models import Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A real HTTP server on loopback that takes 10 s to answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(10)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_it_gives_up_after_the_read_timeout(hanging_url: str, settings) -> None:
    settings.FLEET_HTTP_READ_TIMEOUT = 0.5
    server = Server.objects.create(name="hangs", url=hanging_url, metrics_url=f"{hanging_url}/metrics")
    started = time.monotonic()
    services.scrape_server(server.id)
    elapsed = time.monotonic() - started
    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert "no answer within 0.5 s" in server.last_error
    assert elapsed < 5, f"a hanging server held the scrape for {elapsed:.1f} s"
