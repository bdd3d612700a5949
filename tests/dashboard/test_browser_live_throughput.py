"""A model page gains throughput points live, and how long a sample takes to reach the DOM.

Real parts throughout: Celery worker and beat scrape the session's Triton every second,
frames go through Redis to the web process, the page appends them with Plotly.extendTraces.
Latency (frame `at` -> the chart element marked with it) is measured, never asserted; it
is written to var/benchmarks/live_latency.json (see bench/live_latency.py).
"""

import json
import os
import statistics
import time

import pytest

from fleet.demo.traffic import send_inferences
from fleet.models import Server
from tests.browser import ROOT, SCRAPE_INTERVAL, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set before any page script: records when each chart element is marked with a new point.
RECORD_MARKS = """
window.__marks = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const el = m.target;
    if (!el.data || !el.data.length) continue;
    window.__marks.push({id: el.id, at: Number(el.dataset.lastAt), seen: Date.now() / 1000,
                         y: el.data[0].y.at(-1), first: m.oldValue === null});
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ["data-last-at"]});
"""
SAMPLE_SECONDS = float(os.environ.get("FLEET_LATENCY_SECONDS", "12"))


def test_it_appends_throughput_points_live_and_measures_latency(
    viewer, triton, server_for, celery_worker_process, browser_page
) -> None:
    server = server_for(triton)
    celery_worker_process.wait_for(lambda: Server.objects.get(id=server.id).last_scrape_at, timeout=30)

    page = browser_page(viewer)
    screenshot(page, "overview")
    page.add_init_script(RECORD_MARKS)
    page.goto(f"/servers/{server.id}/")
    page.wait_for_function("document.getElementById('chart-cpu-memory')?.dataset.points > 0", timeout=30000)
    screenshot(page, "server")
    page.click("#models a >> text=fast")
    page.wait_for_url(f"**/servers/{server.id}/models/fast/")
    page.wait_for_function("document.getElementById('chart-throughput')?.dataset.points > 0", timeout=30000)
    page.evaluate("window.__sameDocument = true")

    started = time.time()
    send_inferences(server.url, "fast", 40, concurrency=4)
    sent = time.time()
    deadline = sent + SCRAPE_INTERVAL + 2
    # A live point for a scrape taken after the traffic started, with the traffic in it.
    busy = "t => window.__marks.some(m => m.id === 'chart-throughput' && !m.first && m.at > t && m.y > 0)"
    page.wait_for_function(busy, arg=started, timeout=30000)
    arrived = time.time()
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert arrived <= deadline, f"throughput point after {arrived - sent:.2f}s (bound {deadline - sent:.2f}s)"

    # Keep light traffic flowing while frames arrive, to sample the scrape -> DOM latency.
    until = time.time() + SAMPLE_SECONDS
    while time.time() < until:
        send_inferences(server.url, "fast", 4)
        time.sleep(0.25)
    marks = page.evaluate("window.__marks.filter(m => m.id === 'chart-throughput' && !m.first)")
    latencies = sorted(m["seen"] - m["at"] for m in marks)
    assert latencies, "no live points recorded"
    screenshot(page, "model")
    report = {
        "samples": len(latencies),
        "interval_s": SCRAPE_INTERVAL,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "max_ms": 1000 * latencies[-1],
        "first_point_after_traffic_s": arrived - sent,
    }
    out = ROOT / "var" / "benchmarks" / "live_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print("live latency:", report)
    assert page.errors == []
