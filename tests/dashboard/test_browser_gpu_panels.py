"""GPU panels render from a recorded exposition with nv_gpu_* metrics for two GPUs.

The exposition is served by a real local HTTP server as the server's metrics_url (no GPU
is needed); the server page must show one memory bar and one line per GPU.
"""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fleet.models import Server
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPOSITION = Path(__file__).resolve().parent.parent / "data" / "triton_gpu_metrics.txt"
GPU0 = "GPU-3f1b0c1e-7a42-4c55-9f0e-2b8d6a1c9e01"


class Exposition(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = EXPOSITION.read_bytes()
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gpu_metrics_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Exposition)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/metrics"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_it_renders_gpu_memory_and_utilization_per_gpu(viewer, browser_page, gpu_metrics_url) -> None:
    # The repository API is not served here: inventory fails, the metrics scrape succeeds.
    server = Server.objects.create(
        name="gpu-box", url=gpu_metrics_url.removesuffix("/metrics"), metrics_url=gpu_metrics_url
    )
    scrape(server.id)
    scrape(server.id)
    assert Server.objects.get(id=server.id).status == "up"

    page = browser_page(viewer)
    bars = page.locator(".server-card .bar[data-device^='GPU-']")
    assert bars.count() == 2
    assert bars.first.locator(".bar-value").text_content() == "57.0 / 79.6 GiB"
    screenshot(page, "overview-gpu")

    page.goto(f"/servers/{server.id}/")
    page.wait_for_function("document.getElementById('chart-gpu-util')?.dataset.points > 0", timeout=30000)
    page.wait_for_function("document.getElementById('chart-gpu-memory')?.dataset.points > 0", timeout=30000)
    memory = page.evaluate(
        # The chart's lines (its other traces mark where a line starts: see charts.js).
        "Array.from(document.getElementById('chart-gpu-memory').data).filter(d => d.meta === 'line')"
        ".map(d => [d.name, d.y.at(-1)])"
    )
    assert [name for name, _ in memory] == ["GPU 0 used", "GPU 0 total", "GPU 1 used", "GPU 1 total"]
    assert memory[0][1] == pytest.approx(61203283968 / 1024**3)
    utilization = page.evaluate(
        "Array.from(document.getElementById('chart-gpu-util').data).filter(d => d.meta === 'line')"
        ".map(d => d.y.at(-1))"
    )
    assert utilization == [pytest.approx(83), pytest.approx(41)]
    assert page.locator(f".kpi .bar[data-device='{GPU0}'] .bar-value").text_content() == "57.0 / 79.6 GiB"
    assert "GiB" in page.locator("#chart-gpu-memory .ytitle").text_content()
    screenshot(page, "server-gpu")
    assert page.errors == []
