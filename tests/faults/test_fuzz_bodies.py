"""A corpus of hostile metrics and inventory bodies, each served by a real HTTP server and
run through the scrape service: nothing crashes, each scrape costs bounded time and memory,
what went wrong shows on the server (last_error, never the body's text), nothing but
finite, non-negative rates is stored, and the next good answer is scraped as usual.

Single endpoints are covered one by one in tests/fleet/test_triton_hostile_endpoints.py;
this row holds the invariants over the whole corpus.
"""

from __future__ import annotations

import json
import math
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from fleet import services, storage
from fleet.models import Server
from tests.faults.conftest import FaultRow

pytestmark = pytest.mark.django_db

SECRET = "FUZZ-SECRET-4b1d"
DEADLINE_S = 2.0
LIMIT = 16 * 1024 * 1024
# Reading a body at the limit holds it as bytes, then as text, then its samples.
MEMORY_BOUND = 6 * LIMIT
TIME_BOUND_S = DEADLINE_S + 8.0


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_s: float = 0.0  # a byte at a time, this far apart
    length: int | None = None  # a Content-Length that lies


def _good_metrics(n: int) -> bytes:
    lines = [
        "# TYPE nv_inference_request_success counter",
        f'nv_inference_request_success{{model="fast",version="1"}} {100 * n}',
        "# TYPE nv_inference_count counter",
        f'nv_inference_count{{model="fast",version="1"}} {100 * n}',
        "# TYPE nv_inference_exec_count counter",
        f'nv_inference_exec_count{{model="fast",version="1"}} {50 * n}',
        "# TYPE nv_inference_queue_duration_us counter",
        f'nv_inference_queue_duration_us{{model="fast",version="1"}} {1000 * n}',
        "# TYPE nv_cpu_utilization gauge",
        "nv_cpu_utilization 0.5",
    ]
    return ("\n".join(lines) + "\n").encode()


def _series(model: str, value: str, version: str = "1", reason: str = "OTHER") -> bytes:
    labels = f'model="{model}",version="{version}"'
    return (
        f"nv_inference_request_success{{{labels}}} {value}\n"
        f"nv_inference_count{{{labels}}} {value}\n"
        f'nv_inference_request_failure{{{labels},reason="{reason}"}} 1\n'
    ).encode()


def _many_series(models: int) -> bytes:
    families = ("nv_inference_request_success", "nv_inference_count", "nv_inference_exec_count",
                "nv_inference_queue_duration_us", "nv_inference_pending_request_count")  # fmt: skip
    return "".join(f'{f}{{model="m{i}",version="1"}} {i}\n' for i in range(models) for f in families).encode()


def _gzip_bomb(decompressed: int) -> bytes:
    """A gzip body that inflates to `decompressed` bytes of comment."""
    chunk = b"#" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    parts = [compressor.compress(chunk) for _ in range(decompressed >> 20)]
    return b"".join(parts) + compressor.flush()


def _metrics_corpus() -> dict[str, Reply]:
    html = f"<html><body><h1>{SECRET}</h1></body></html>".encode()
    return {
        "NaN counter": Reply(body=_good_metrics(2) + _series("nan", "NaN")),
        "+Inf and -Inf": Reply(body=_good_metrics(2) + _series("inf", "+Inf") + b"nv_gpu_utilization -Inf\n"),
        "| in model, version and reason": Reply(
            body=_good_metrics(2) + _series("a|b", "5", "1|2", "X|Y") + _series("a", "7", "b|1|2", "X")
        ),
        "escaped quotes, backslashes, newlines": Reply(
            body=_good_metrics(2) + _series('q\\"u\\\\o\\nte', "3")
        ),
        "NUL in a label": Reply(body=_good_metrics(2) + _series("nul\x00byte", "3")),
        "unicode labels": Reply(body=_good_metrics(2) + _series("模型-🚀", "3")),
        "5 kB model name": Reply(body=_good_metrics(2) + _series("m" * 5000, "3")),
        "300-char version": Reply(body=_good_metrics(2) + _series("longver", "3", "9" * 300)),
        "negative counter": Reply(body=_good_metrics(2) + _series("neg", "-5")),
        "counter going backwards": Reply(body=_good_metrics(0)),
        "1e308 counters": Reply(body=_good_metrics(2) + _series("huge", "1.7e308")),
        "duplicate series": Reply(body=_good_metrics(2) + _good_metrics(2)),
        "not a number": Reply(body=_good_metrics(2) + b'nv_inference_count{model="x",version="1"} abc\n'),
        "truncated line": Reply(body=_good_metrics(2) + b'nv_inference_count{model="x",version="1'),
        "10k series": Reply(body=_many_series(2000)),
        "16 MB + 1 body": Reply(body=b"# " + b"x" * (LIMIT - 2) + b"\n" + b"#"),
        "gzip bomb (256 MB inflated)": Reply(
            body=_gzip_bomb(256 << 20), headers={"Content-Encoding": "gzip"}
        ),
        "slow drip": Reply(body=_good_metrics(2), drip_s=0.2),
        "HTML page, 200": Reply(body=html, headers={"Content-Type": "text/html"}),
        "HTTP 500 with a body": Reply(status=500, body=SECRET.encode()),
        "redirect to an internal URL": Reply(status=302, headers={"Location": "/internal"}),
        "empty body": Reply(body=b""),
        "not UTF-8": Reply(body=bytes(range(256)) * 4),
        "Content-Length longer than the body": Reply(body=_good_metrics(2), length=100_000),
    }


def _inventory_corpus() -> dict[str, dict[str, Reply]]:
    """Each case overrides some inventory routes; the metrics stay good."""

    def ok(value: object) -> Reply:
        return Reply(body=json.dumps(value).encode(), headers={"Content-Type": "application/json"})

    html = Reply(body=f"<html>{SECRET}</html>".encode(), headers={"Content-Type": "text/html"})
    index = "/v2/repository/index"
    stats = "/v2/models/stats"
    return {
        "index: HTML, 200": {index: html},
        "index: an object, not a list": {index: ok({"models": [SECRET]})},
        "index: a list of numbers": {index: ok([1, 2, 3])},
        "index: a model without a name": {index: ok([{"version": "1", "state": "READY"}])},
        "index: a 5 kB model name": {index: ok([{"name": "m" * 5000, "version": "1", "state": "READY"}])},
        "index: NUL in a name": {index: ok([{"name": "a\x00b", "version": "1", "state": "READY"}])},
        "index: 300-char version and state": {
            index: ok([{"name": "v", "version": "9" * 300, "state": "S" * 300}])
        },
        # Valid, but each READY model is one more config read.
        "index: 2,000 ready models": {
            index: ok([{"name": f"m{i}", "version": "1", "state": "READY"} for i in range(2000)])
        },
        "index: slow drip": {index: Reply(body=json.dumps([{"name": "fast"}]).encode(), drip_s=0.2)},
        "index: redirect": {index: Reply(status=302, headers={"Location": "/internal"})},
        "index: HTTP 500 with a body": {index: Reply(status=500, body=SECRET.encode())},
        "statistics: model_stats not a list": {stats: ok({"model_stats": {"x": SECRET}})},
        "statistics: memory of a 5 kB model name": {
            stats: ok(
                {"model_stats": [{"name": "m" * 5000, "version": "1", "memory_usage": [{"byte_size": 1}]}]}
            )
        },
        "statistics: byte_size not a number": {
            stats: ok(
                {"model_stats": [{"name": "fast", "version": "1", "memory_usage": [{"byte_size": "lots"}]}]}
            )
        },
        "statistics: HTML, 200": {stats: html},
        "config: HTML, 200": {"/v2/models/fast/config": html},
    }


# No inventory error is owed for these: a valid index; memory of a model the index lacks;
# a config that cannot be read and an unreadable byte_size are logged and skipped by design.
NO_ERROR_EXPECTED = {
    "index: 2,000 ready models",
    "statistics: memory of a 5 kB model name",
    "config: HTML, 200",
    "statistics: byte_size not a number",
}

GOOD_INVENTORY: dict[str, Reply] = {
    "/v2/repository/index": Reply(
        body=json.dumps([{"name": "fast", "version": "1", "state": "READY"}]).encode()
    ),
    "/v2/models/stats": Reply(body=json.dumps({"model_stats": []}).encode()),
    "/v2/models/fast/config": Reply(body=json.dumps({"name": "fast", "backend": "python"}).encode()),
}


@dataclass
class Endpoint:
    url: str
    routes: dict[str, Reply]
    hits: list[str]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    routes: dict[str, Reply] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path = self.path.split("?")[0]
            hits.append(path)
            if self.headers.get("Content-Length"):
                self.rfile.read(int(self.headers["Content-Length"]))
            reply = routes.get(path, Reply(status=404, body=b'{"error": "no such route"}'))
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(reply.length or len(reply.body)))
                self.end_headers()
                if reply.drip_s:
                    for byte in reply.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(reply.drip_s)
                else:
                    self.wfile.write(reply.body)
            except OSError:
                pass  # the scraper hung up: the point of the drip

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Endpoint(f"http://127.0.0.1:{httpd.server_address[1]}", routes, hits)
    httpd.shutdown()


@dataclass
class Cost:
    seconds: float = 0.0
    peak_bytes: int = 0
    case: str = "-"


def _scrape(server: Server) -> tuple[bool | BaseException | None, Cost]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with transaction.atomic():  # a savepoint: a crash must not end the test's transaction
            outcome: bool | BaseException | None = services.scrape_server(server.id)
    except Exception as exc:  # the invariant under test: this never happens
        outcome = exc
    cost = Cost(time.monotonic() - started, tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    return outcome, cost


class Fuzz:
    def __init__(self, endpoint: Endpoint, row: FaultRow) -> None:
        self.endpoint = endpoint
        self.row = row
        self.slowest = Cost()
        self.hungriest = Cost()

    def run(self, case: str, path: str, hostile: dict[str, Reply], inventory_case: bool) -> None:
        endpoint, row = self.endpoint, self.row
        lost_before = len(row.lost)
        endpoint.routes.update(GOOD_INVENTORY)
        endpoint.routes[path] = Reply(body=_good_metrics(1))
        slug = f"fuzz-{len(Server.objects.all())}"
        server = Server.objects.create(name=slug, url=endpoint.url, metrics_url=f"{endpoint.url}{path}")
        services.scrape_server(server.id)  # a good baseline first: the hostile answer ends a run
        endpoint.routes.update(hostile)
        # Twice: a rate needs two samples, and storing a series is where some bodies bite.
        outcome, cost = _scrape(server)
        if not isinstance(outcome, BaseException):
            outcome, again = _scrape(server)
            cost = Cost(max(cost.seconds, again.seconds), max(cost.peak_bytes, again.peak_bytes))
        cost.case = case
        self.slowest = max(self.slowest, cost, key=lambda c: c.seconds)
        self.hungriest = max(self.hungriest, cost, key=lambda c: c.peak_bytes)
        if isinstance(outcome, BaseException):
            row.lose(f"{case}: the scrape raised {type(outcome).__name__}: {str(outcome)[:120]}")
        if cost.seconds > TIME_BOUND_S:
            row.lose(f"{case}: the scrape took {cost.seconds:.1f} s")
        if cost.peak_bytes > MEMORY_BOUND:
            row.lose(f"{case}: the scrape held {cost.peak_bytes / 2**20:.0f} MiB")
        server.refresh_from_db()
        if SECRET in server.last_error:
            row.lose(f"{case}: last_error repeats the body")
        shown = server.last_error.startswith(services.INVENTORY_ERROR)
        expected = inventory_case and case not in NO_ERROR_EXPECTED
        if expected and not shown and not isinstance(outcome, BaseException):
            row.lose(f"{case}: inventory error not shown (status {server.status}, {server.last_error!r})")
        if server.status == Server.Status.DOWN and not server.last_error:
            row.lose(f"{case}: down without an error")
        stored = storage.points(server)
        values = [p.value for p in stored if p.value is not None]
        if any(not math.isfinite(v) for v in values if v is not None):
            row.lose(f"{case}: a value that is not finite was stored")
        if any(p.metric.endswith("_per_s") and p.value is not None and p.value < 0 for p in stored):
            row.lose(f"{case}: a negative rate was stored")
        # The next good answers are scraped as usual: nothing stopped for good.
        endpoint.routes.update(GOOD_INVENTORY)
        endpoint.routes[path] = Reply(body=_good_metrics(3))
        server.inventory_at = None
        Server.objects.filter(id=server.id).update(inventory_at=None)
        for n in (4, 5):
            after, _ = _scrape(server)
            endpoint.routes[path] = Reply(body=_good_metrics(n))
        server.refresh_from_db()
        if isinstance(after, BaseException) or server.status != Server.Status.UP or server.last_error:
            row.lose(f"{case}: not scraped again afterwards (status {server.status}, {server.last_error!r})")
        if "/internal" in endpoint.hits:
            row.lose(f"{case}: a redirect was followed")
            endpoint.hits.clear()
        if len(row.lost) == lost_before:
            row.survived += 1


def test_it_survives_a_corpus_of_hostile_bodies(endpoint, settings, fault_row) -> None:
    settings.FLEET_HTTP_READ_TIMEOUT = 1.0
    settings.FLEET_HTTP_DEADLINE = DEADLINE_S
    settings.FLEET_METRICS_MAX_BYTES = LIMIT
    settings.FLEET_INVENTORY_INTERVAL = 0
    metrics, inventory = _metrics_corpus(), _inventory_corpus()
    row = fault_row("Fuzz corpus of metrics and inventory bodies", len(metrics) + len(inventory), "bodies")
    fuzz = Fuzz(endpoint, row)
    for case, reply in metrics.items():
        path = "/metrics"
        fuzz.run(case, path, {path: reply}, False)
    for case, routes in inventory.items():
        fuzz.run(case, "/metrics", routes, True)
    row.figures["slowest scrape"] = (
        f"{fuzz.slowest.seconds:.2f} s, {fuzz.slowest.case} (deadline {DEADLINE_S:g} s)"
    )
    row.figures["largest peak"] = (
        f"{fuzz.hungriest.peak_bytes / 2**20:.0f} MiB, {fuzz.hungriest.case} (body limit 16 MiB)"
    )
    row.check()
