"""Stopping a Triton server shows it down on its page within two scrape intervals."""

import time

import pytest

from fleet.models import Server
from tests.browser import SCRAPE_INTERVAL, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATUS = "document.querySelector('[data-status]').textContent"


def test_it_shows_the_server_down_within_two_intervals(
    viewer, triton_factory, server_for, celery_worker_process, browser_page
) -> None:
    process = triton_factory()
    server = server_for(process)
    celery_worker_process.wait_for(lambda: Server.objects.get(id=server.id).status == "up", timeout=30)

    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/")
    page.wait_for_function(f"{STATUS} === 'up'", timeout=30000)

    process.kill()
    killed = time.time()
    page.wait_for_function(f"['down', 'stale'].includes({STATUS})", timeout=30000, polling=50)
    elapsed = time.time() - killed
    print(f"shown {page.evaluate(STATUS)} {elapsed:.2f}s after the kill")
    # Two intervals, plus the 250 ms tick of the page's freshness timer and polling here.
    assert elapsed <= 2 * SCRAPE_INTERVAL + 0.5
    page.wait_for_function(f"{STATUS} === 'down'", timeout=30000)
    assert "cannot connect" in page.locator("[data-error]").text_content()
    screenshot(page, "server-down")

    page.goto("/")
    assert page.locator(f".server-card[data-server-id='{server.id}'] [data-status]").text_content() == "down"
    screenshot(page, "overview-down")
    assert page.errors == []
