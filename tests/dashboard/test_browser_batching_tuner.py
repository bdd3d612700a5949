"""In real Chromium, an operator raises a model's max queue delay from its page; once the
reload is done, the page shows the batches formed before and after over equal windows."""

from __future__ import annotations

import pytest

from fleet import services
from fleet.models import Action
from tests.actions_support import wait_until
from tests.browser import screenshot
from tests.inside_support import hammer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_applies_a_queue_delay_and_shows_before_and_after(
    operator, triton_factory, server_for, celery_worker_process, browser_page
) -> None:
    triton = triton_factory(models=["fast"])
    server = server_for(triton)
    services.refresh_inventory(server)
    page = browser_page(operator)
    page.goto(f"/servers/{server.id}/models/fast/")
    page.wait_for_selector("#batching-settings dd", timeout=20000)
    hammer(triton.http_url, "fast", clients=16, seconds=3.0)

    page.fill("#batching-form input[name=max_queue_delay_microseconds]", "5000")
    page.click("#batching-form button[type=submit]")
    action = wait_until(
        lambda: Action.objects.filter(model="fast", parameters__has_key="batching").first(), 10
    )
    wait_until(lambda: not Action.objects.get(id=action.id).active, 60, "the reload")
    assert Action.objects.get(id=action.id).state == Action.State.SUCCEEDED
    hammer(triton.http_url, "fast", clients=16, seconds=3.0)
    page.select_option("#batching-since", "300")  # reads the view again now

    page.wait_for_selector("#batching-compare:not([hidden]) #batching-after tr[data-size]", timeout=20000)
    rows = page.locator("#batching-compare-table tbody tr")
    mean = rows.nth(1).locator("td")
    assert mean.nth(0).text_content() == "mean formed batch"
    assert float(mean.nth(2).text_content() or 0) > float(mean.nth(1).text_content() or 0)
    assert "5.0 ms" in page.locator("#batching-settings").text_content()
    page.reload()  # the config panel, rendered from the stored config, shows the new delay
    assert "max queue delay 5 ms," in page.locator("#config").text_content()
    screenshot(page, "inside-batching-before-after")
    assert page.errors == [], page.errors
