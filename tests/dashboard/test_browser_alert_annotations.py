"""In Chromium: an alert that fired on a model shows on the server page's charts as an
annotation (a dashed line and a mark whose hover names it), beside the timeline's entry."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User

from fleet.demo.localfleet import TritonProcess
from fleet.demo.traffic import send_inferences
from fleet.models import Alert, AlertRule
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKS = """() => {
  const layout = document.getElementById("chart-model-queue")?.layout;
  return (layout?.annotations ?? []).filter((a) => a.text === "⚠").map((a) => a.hovertext);
}"""


def test_it_marks_an_alert_on_the_charts(
    triton: TritonProcess, server_for: Any, viewer: User, browser_page: Any
) -> None:
    AlertRule.objects.create(name="any queue", kind="queue_time", threshold=0, model="slow", for_s=0)
    server = server_for(triton, "annotated-host")
    scrape(server.id)
    send_inferences(server.url, "slow", 6, concurrency=3)  # three callers on one instance queue
    time.sleep(0.2)
    scrape(server.id)
    assert Alert.objects.filter(server=server, model="slow", state="firing").exists()

    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/")
    page.wait_for_function("document.getElementById('chart-model-queue')?.dataset.points > 0", timeout=30000)
    page.locator("#timeline li[data-kind='alert']").first.wait_for(timeout=10000)
    page.wait_for_function(f"({MARKS})().length > 0", timeout=10000)
    assert page.evaluate(MARKS) == ["queue_time slow firing"]
    screenshot(page, "alert-annotation")
    assert page.errors == []
