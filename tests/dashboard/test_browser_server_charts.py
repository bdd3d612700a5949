"""The server page charts its models over the range: throughput by model (stacked) and queue
time per request by model, from a real Triton under traffic, then live from its frames."""

import time

import pytest

from fleet.demo.traffic import send_inferences
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Per model trace of a chart: its name and its newest value (lines only: a stacked chart's
# fills are drawn under them and carry no hover).
LINES = """id => Array.from(document.getElementById(id).data)
  .filter(d => d.meta === 'line')
  .map(d => ({name: d.name, values: d.customdata.some(c => c !== null) ? d.customdata : d.y}))"""


def busy_scrapes(server, scrapes: int) -> None:
    for _ in range(scrapes):
        send_inferences(server.url, "fast", 24, concurrency=4)
        send_inferences(server.url, "slow", 3, concurrency=3)
        scrape(server.id)
        time.sleep(0.3)


def test_it_charts_throughput_and_queue_time_by_model_live(viewer, triton, server_for, browser_page) -> None:
    server = server_for(triton)
    scrape(server.id)
    busy_scrapes(server, 3)

    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/")
    for chart in ("chart-model-throughput", "chart-model-queue"):
        page.wait_for_function(f"document.getElementById('{chart}')?.dataset.points > 0", timeout=30000)

    throughput = {t["name"]: t["values"] for t in page.evaluate(LINES, "chart-model-throughput")}
    assert {"fast", "slow"} <= throughput.keys()
    assert max(v for v in throughput["fast"] if v is not None) > 0
    # Stacked: the top edge of "slow" is "fast" + "slow" where slow is stacked above fast.
    queue = {t["name"]: t["values"] for t in page.evaluate(LINES, "chart-model-queue")}
    # slow has one instance and no batching: three concurrent callers wait for each other.
    assert max(v for v in queue["slow"] if v is not None) > 0
    labels = page.locator("#chart-model-queue .ytick text").all_text_contents()
    assert len(labels) == len(set(labels)), labels  # ticks never repeat
    assert any(label.endswith("s") for label in labels if label not in ("0", "0s")), labels

    # Live: a scrape after the page loaded extends both charts without a reload.
    before = float(page.get_attribute("#chart-model-throughput", "data-last-at"))
    busy_scrapes(server, 1)
    for chart in ("chart-model-throughput", "chart-model-queue"):
        newer = "([id, t]) => Number(document.getElementById(id).dataset.lastAt) > t"
        page.wait_for_function(newer, arg=[chart, before], timeout=15000)
    screenshot(page, "server-model-charts")
    assert page.errors == []
