"""A server without the trace or logging extension gets what it has, and says what it lacks.

Every real Triton 2.51 has both extensions, so the server here is a small stand-in that
answers like a Triton built without them (as tests/crafted_triton.py does for metrics)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fleet.models import DebugSession, Server
from tests.conftest import client_for

EXTENSIONS: list[str] = []
LOGGING = {"log_verbose_level": 0}


class Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"{}") if length else {}
        answers: dict[str, Any] = {
            "/v2": {"name": "triton", "version": "2.51.0", "extensions": EXTENSIONS},
            "/v2/repository/index": [{"name": "fast", "version": "1", "state": "READY"}],
            "/v2/models/stats": {"model_stats": []},
        }
        if self.path == "/v2/logging":
            LOGGING.update(sent)
            answers["/v2/logging"] = LOGGING
        body = answers.get(self.path)
        self.send_response(200 if body is not None else 404)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_it_refuses_a_server_with_neither_extension(operator, stand_in) -> None:
    EXTENSIONS[:] = ["statistics"]
    server = Server.objects.create(name="bare", url=stand_in)

    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/fast/debug/", {"minutes": 5}, format="json"
    )

    assert response.status_code == 400
    assert "neither the logging nor the trace extension" in response.json()["detail"]
    assert not DebugSession.objects.exists()


def test_it_raises_logging_alone_and_notes_the_missing_trace(operator, stand_in) -> None:
    EXTENSIONS[:] = ["statistics", "logging"]
    LOGGING["log_verbose_level"] = 0
    server = Server.objects.create(name="no-trace", url=stand_in)

    response = client_for(operator).post(
        f"/api/servers/{server.id}/models/fast/debug/", {"minutes": 5}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["notes"] == "no-trace has no trace extension"
    assert response.json()["applied"] == {"logging": {"log_verbose_level": 1}}
    assert LOGGING["log_verbose_level"] == 1
