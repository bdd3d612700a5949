"""Endpoints that misbehave on purpose (a drip, a redirect to an internal page, an error page,
an answer that is not Triton's JSON) cost bounded time, echo nothing and stop nothing.

A real HTTP server on loopback plays the hostile endpoint: real Triton cannot be made to do
these things. Metrics come from the real session Triton where a test needs good ones.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fleet import services, storage
from fleet.models import Server

pytestmark = pytest.mark.django_db

SECRET = "INTERNAL-ONLY-7f3a"


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_s: float = 0.0  # send the body a byte at a time, this far apart


@dataclass
class Hostile:
    url: str
    routes: dict[str, Route]
    hits: dict[str, list[dict[str, str]]]


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    routes: dict[str, Route] = {}
    hits: dict[str, list[dict[str, str]]] = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path = self.path.split("?")[0]
            hits.setdefault(path, []).append(dict(self.headers))
            route = routes.get(path, Route(status=404, body=b'{"error": "no such route"}'))
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                if route.drip_s:
                    for byte in route.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(route.drip_s)
                else:
                    self.wfile.write(route.body)
            except OSError:
                pass  # the client hung up: that is the point of the drip tests

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Hostile(f"http://127.0.0.1:{httpd.server_address[1]}", routes, hits)
    httpd.shutdown()


def test_it_cuts_off_a_metrics_drip_at_the_deadline(hostile: Hostile, settings) -> None:
    settings.FLEET_HTTP_READ_TIMEOUT = 1.0
    settings.FLEET_HTTP_DEADLINE = 2.0
    hostile.routes["/metrics"] = Route(body=b"nv_inference_count 1\n" * 100, drip_s=0.1)
    server = Server.objects.create(name="drip", url=hostile.url, metrics_url=f"{hostile.url}/metrics")

    started = time.monotonic()
    services.scrape_server(server.id)
    elapsed = time.monotonic() - started

    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert "within 2 s" in server.last_error
    assert elapsed < 2.0 + 1.5  # the deadline, not the 210 s the drip would take


def test_it_does_not_follow_a_redirect_or_forward_the_auth_header(hostile: Hostile) -> None:
    hostile.routes["/metrics"] = Route(status=302, headers={"Location": f"{hostile.url}/internal"})
    hostile.routes["/internal"] = Route(body=f"{SECRET}\n".encode())
    server = Server.objects.create(
        name="redirects",
        url=hostile.url,
        metrics_url=f"{hostile.url}/metrics",
        auth_header_name="X-Triton-Key",
        auth_header_value="s3cret",
    )
    services.scrape_server(server.id)
    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert "redirect (not followed)" in server.last_error
    assert "/internal" not in hostile.hits


@pytest.mark.parametrize("status", [200, 500])
def test_it_never_echoes_the_body_of_a_bad_metrics_answer(hostile: Hostile, status: int) -> None:
    hostile.routes["/metrics"] = Route(status=status, body=f"<html><h1>{SECRET}</h1></html>\n".encode())
    server = Server.objects.create(name="echo", url=hostile.url, metrics_url=f"{hostile.url}/metrics")
    services.scrape_server(server.id)
    server.refresh_from_db()
    assert server.status == Server.Status.DOWN
    assert server.last_error
    assert SECRET not in server.last_error


INVENTORY_FAULTS = {
    "html with status 200": {"/v2/repository/index": Route(body=f"<html>{SECRET}</html>".encode())},
    "html with status 500": {
        "/v2/repository/index": Route(status=500, body=f"<html>{SECRET}</html>".encode())
    },
    "an object instead of a list": {"/v2/repository/index": Route(body=b'{"models": []}')},
    "a row without a name": {"/v2/repository/index": Route(body=b'[{"state": "READY"}]')},
    "statistics that are a list": {
        "/v2/repository/index": Route(body=b'[{"name": "m", "version": "1", "state": "READY"}]'),
        "/v2/models/stats": Route(body=b"[]"),
    },
}


@pytest.mark.parametrize("fault", sorted(INVENTORY_FAULTS))
def test_bad_inventory_marks_the_inventory_error_and_metrics_keep_flowing(
    triton, hostile: Hostile, fault: str
) -> None:
    hostile.routes.update(INVENTORY_FAULTS[fault])
    server = Server.objects.create(name="bad-inventory", url=hostile.url, metrics_url=triton.metrics_url)

    services.scrape_server(server.id)
    services.scrape_server(server.id)

    server.refresh_from_db()
    assert server.status == Server.Status.UP
    assert server.last_error.startswith(services.INVENTORY_ERROR)
    assert SECRET not in server.last_error
    assert any(p.value is not None for p in storage.points(server))


def test_a_non_numeric_byte_size_is_skipped_not_fatal(triton, hostile: Hostile) -> None:
    rows = [{"name": name, "version": "1", "state": "READY"} for name in ("m", "n")]
    hostile.routes["/v2/repository/index"] = Route(body=json.dumps(rows).encode())
    stats = {
        "model_stats": [
            {"name": "m", "version": "1", "memory_usage": [{"type": "CPU", "id": 0, "byte_size": "lots"}]},
            {"name": "n", "version": "1", "memory_usage": [{"type": "CPU", "id": 0, "byte_size": "1024"}]},
        ]
    }
    hostile.routes["/v2/models/stats"] = Route(body=json.dumps(stats).encode())
    hostile.routes["/v2/models/m/config"] = Route(body=b'{"name": "m"}')
    hostile.routes["/v2/models/n/config"] = Route(body=b'{"name": "n"}')
    server = Server.objects.create(name="odd-stats", url=hostile.url, metrics_url=triton.metrics_url)

    services.scrape_server(server.id)

    server.refresh_from_db()
    assert server.status == Server.Status.UP
    sizes = dict(server.versions.values_list("name", "memory_usage_bytes"))
    assert sizes == {"m": None, "n": 1024}


def test_it_cuts_off_an_inventory_drip_at_the_deadline(triton, hostile: Hostile, settings) -> None:
    settings.FLEET_HTTP_READ_TIMEOUT = 1.0
    settings.FLEET_HTTP_DEADLINE = 2.0
    hostile.routes["/v2/repository/index"] = Route(body=b"[" + b" " * 200 + b"]", drip_s=0.1)
    server = Server.objects.create(name="slow-index", url=hostile.url, metrics_url=triton.metrics_url)

    started = time.monotonic()
    services.scrape_server(server.id)
    elapsed = time.monotonic() - started

    server.refresh_from_db()
    assert server.status == Server.Status.UP  # its metrics answered
    assert server.last_error.startswith(services.INVENTORY_ERROR)
    assert "within 2 s" in server.last_error
    assert elapsed < 2.0 + 3.0


def test_config_reads_per_inventory_are_bounded(triton, hostile: Hostile, settings) -> None:
    settings.FLEET_CONFIG_READS_PER_INVENTORY = 5
    rows = [{"name": f"m{i:03d}", "version": "1", "state": "READY"} for i in range(40)]
    hostile.routes["/v2/repository/index"] = Route(body=json.dumps(rows).encode())
    hostile.routes["/v2/models/stats"] = Route(body=b'{"model_stats": []}')
    server = Server.objects.create(name="big-index", url=hostile.url, metrics_url=triton.metrics_url)

    services.scrape_server(server.id)  # every config answers 404 (no route): none is kept

    asked = [path for path in hostile.hits if path.endswith("/config")]
    assert len(asked) == 5
    server.refresh_from_db()
    assert server.status == Server.Status.UP


def test_a_series_wider_than_storage_is_left_out(hostile: Hostile, triton) -> None:
    good = requests.get(triton.metrics_url, timeout=5).text
    wide = 'nv_inference_count{model="%s",version="1"} 5\n' % ("w" * 300)
    hostile.routes["/metrics"] = Route(body=(good + wide).encode())
    server = Server.objects.create(name="wide", url=triton.http_url, metrics_url=f"{hostile.url}/metrics")

    services.scrape_server(server.id)
    services.scrape_server(server.id)

    server.refresh_from_db()
    assert server.status == Server.Status.UP, server.last_error
