"""A chart without data says why instead of drawing an empty 0–4 axis, and turns into a
normal chart when data come."""

import pytest

from fleet.demo.traffic import send_inferences
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTES = "id => Array.from(document.querySelectorAll(`#${id} .annotation-text`), a => a.textContent)"


def test_it_says_why_a_chart_is_empty_until_data_come(viewer, scraped, browser_page) -> None:
    # `scraped` sent traffic to fast only: slow had no request, so no queue time either.
    page = browser_page(viewer)
    page.goto(f"/servers/{scraped.id}/models/slow/")
    for chart in ("chart-memory", "chart-queue"):
        page.wait_for_function(f"document.getElementById('{chart}')?.dataset.empty", timeout=30000)
        assert page.get_attribute(f"#{chart}", "data-empty") == "true"
        assert page.locator(f"#{chart} .ytick").count() == 0  # no made-up 0–4 axis
    # slow runs on the python backend: Triton's statistics API reports no memory usage.
    assert page.evaluate(NOTES, "chart-memory") == ["Triton reports no memory usage for the python backend"]
    assert page.evaluate(NOTES, "chart-queue") == ["No data in this range"]
    screenshot(page, "model-empty-charts")

    # Requests, then a scrape: the queue chart gets its axis and loses its note, live.
    send_inferences(scraped.url, "slow", 3, concurrency=3)
    scrape(scraped.id)
    page.wait_for_function("document.getElementById('chart-queue').dataset.empty === 'false'", timeout=15000)
    page.wait_for_function("document.querySelectorAll('#chart-queue .ytick').length > 0", timeout=5000)
    assert "No data in this range" not in page.evaluate(NOTES, "chart-queue")  # events show instead
    # One scrape's value is a point between gaps, which a line cannot draw: a dot shows it.
    dots = "Array.from(document.getElementById('chart-queue').data).filter(d => d.meta === 'dot')"
    assert page.evaluate(f"{dots}.map(d => d.y.filter(v => v > 0).length)") == [1]
    assert page.get_attribute("#chart-memory", "data-empty") == "true"  # still none from Triton
    screenshot(page, "model-empty-then-data")
    assert page.errors == []
