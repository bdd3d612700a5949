"""The stacked latency breakdown breaks where the model served no requests: no band is drawn
across the gap (Plotly's own stacking would ramp from the last value to the next), in the
history from the API and in the points appended live from frames."""

import time

import pytest

from fleet.demo.traffic import send_inferences
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The latency chart's traces as {meta, name, x, y}: "line" traces (a band's top edge) and
# "fill" traces (its area, to zero).
TRACES = """() => Array.from(document.getElementById('chart-latency').data,
  d => ({meta: d.meta, name: d.name, x: Array.from(d.x), y: Array.from(d.y)}))"""


def traffic_then_idle(server, busy: int, idle_s: float) -> None:
    """`busy` scrapes with requests, then scrapes for `idle_s` seconds without any: the
    per-request series have no value there (Δ requests = 0), a gap of several intervals."""
    for _ in range(busy):
        send_inferences(server.url, "fast", 12, concurrency=3)
        scrape(server.id)
        time.sleep(0.3)
    until = time.monotonic() + idle_s
    while time.monotonic() < until:
        scrape(server.id)
        time.sleep(0.5)


def assert_breaks(traces: list[dict]) -> None:
    """Every band's line has a null between two runs of values, and every fill goes down to
    zero where its line stops and comes up from zero where it starts again."""
    lines = [t for t in traces if t["meta"] == "line"]
    fills = [t for t in traces if t["meta"] == "fill"]
    assert len(lines) == len(fills) == 4
    for line in lines:
        y = line["y"]
        gaps = [i for i, v in enumerate(y) if v is None and 0 < i < len(y) - 1]
        assert gaps and any(y[i - 1] is not None and y[i + 1] is not None for i in gaps), (line["name"], y)
    for fill in fills:
        pairs = list(zip(fill["x"], fill["y"], strict=True))
        assert None not in fill["y"], fill["name"]  # fills never rely on null: Plotly bridges them
        drops = [i for i, (x, y) in enumerate(pairs[1:], 1) if y == 0 and pairs[i - 1][0] == x]
        rises = [i for i, (x, y) in enumerate(pairs[:-1]) if y == 0 and pairs[i + 1][0] == x]
        assert drops and rises, (fill["name"], pairs)


def test_it_breaks_the_stack_at_a_gap_in_history_and_live(viewer, triton, server_for, browser_page) -> None:
    server = server_for(triton)
    scrape(server.id)
    traffic_then_idle(server, busy=3, idle_s=4.5)
    traffic_then_idle(server, busy=3, idle_s=0)

    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/models/fast/")
    page.wait_for_function("document.getElementById('chart-latency')?.dataset.points > 0", timeout=30000)
    assert_breaks(page.evaluate(TRACES))
    # Queue time ticks fit the range: SI seconds (µs, ms), never the same label twice.
    labels = page.locator("#chart-queue .ytick text").all_text_contents()
    assert len(labels) == len(set(labels)) > 1, labels
    assert any("µs" in label or "ms" in label for label in labels), labels
    screenshot(page, "model-stacked-gap-history")

    # Live: the page appends a gap from frames alone, then the band starts again.
    page.evaluate("window.__sameDocument = true")
    before = page.evaluate(TRACES)
    traffic_then_idle(server, busy=0, idle_s=3)
    traffic_then_idle(server, busy=3, idle_s=0)
    page.wait_for_function(
        "n => document.getElementById('chart-latency').data.find(d => d.meta === 'line').y.length > n + 1",
        arg=len(next(t for t in before if t["meta"] == "line")["y"]),
        timeout=15000,
    )
    after = page.evaluate(TRACES)
    # What was appended live, from the last point the page loaded with.
    live = [
        {**new, "x": new["x"][len(old["x"]) - 1 :], "y": new["y"][len(old["y"]) - 1 :]}
        for new, old in zip(after, before, strict=True)
    ]
    assert_breaks(live)
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "model-stacked-gap-live")
    assert page.errors == []
