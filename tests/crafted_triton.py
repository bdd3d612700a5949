"""A loopback HTTP server that answers like Triton with a crafted /metrics body.

For fault injection a real Triton cannot produce (NaN samples, `|` in model names): the
body is whatever the test sets; the inventory is an empty repository.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class CraftedTriton:
    url: str
    metrics: str = ""

    @property
    def metrics_url(self) -> str:
        return f"{self.url}/metrics"


@contextmanager
def crafted_triton() -> Iterator[CraftedTriton]:
    served = CraftedTriton(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path = self.path.split("?")[0]
            if self.headers.get("Content-Length"):
                self.rfile.read(int(self.headers["Content-Length"]))
            if path == "/metrics":
                body, kind = served.metrics.encode(), "text/plain; version=0.0.4"
            elif path == "/v2/repository/index":
                body, kind = b"[]", "application/json"
            elif path == "/v2/models/stats":
                body, kind = json.dumps({"model_stats": []}).encode(), "application/json"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
