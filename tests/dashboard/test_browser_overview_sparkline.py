"""Each server card on the overview has a sparkline of its last 15 minutes of inferences/s:
history from one API call for the whole fleet, then extended by the fleet socket's frames."""

import time

import pytest

from fleet.demo.traffic import send_inferences
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPARK = ".server-card[data-server-id='{}'] [data-sparkline]"


def test_it_draws_a_sparkline_per_server_and_extends_it_live(
    viewer, triton, triton_factory, server_for, browser_page
) -> None:
    busy = server_for(triton)
    idle = server_for(triton_factory(models=["fast"], name="triton-idle"))
    for server in (busy, idle):
        scrape(server.id)
    for _ in range(3):
        send_inferences(busy.url, "fast", 30, concurrency=4)
        scrape(busy.id)
        scrape(idle.id)
        time.sleep(0.5)

    page = browser_page(viewer)
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)
    page.reload()
    busy_spark = SPARK.format(busy.id)
    page.wait_for_function(f'document.querySelector("{busy_spark}")?.dataset.points > 0', timeout=30000)
    assert float(page.get_attribute(busy_spark, "data-last")) > 0
    assert page.locator(f"{busy_spark} .spark-line").get_attribute("d").startswith("M")
    assert page.locator(f"{busy_spark} .spark-peak").text_content().startswith("peak ")
    # The idle server's line is flat at zero: scraped, no traffic.
    idle_spark = SPARK.format(idle.id)
    assert float(page.get_attribute(idle_spark, "data-last")) == 0
    # The overview's one call; the alert banner of every page reads what fires as its socket opens.
    banner = f"{page.url.rstrip('/')}/api/alerts/?state=firing"
    assert [u for u in api_calls if u != banner] == [f"{page.url.rstrip('/')}/api/servers/sparklines/"]

    # A frame after the page loaded goes into the newest bucket: the peak follows a burst.
    peak = page.locator(f"{busy_spark} .spark-peak").text_content()
    for _ in range(3):
        send_inferences(busy.url, "fast", 200, concurrency=8)
        scrape(busy.id)
    page.wait_for_function(
        "([sel, peak]) => document.querySelector(sel + ' .spark-peak').textContent !== peak",
        arg=[busy_spark, peak],
        timeout=15000,
    )
    screenshot(page, "overview-sparklines")
    assert page.errors == []
