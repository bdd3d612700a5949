"""In Chromium: the banner on every page lights up when an alert fires (over the websocket,
no reload), the alerts page lists it and silences it, and the server page's timeline shows
it. Server and rule names holding markup show as text and run nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from fleet.demo.machine import free_port_block
from fleet.models import Alert, AlertRule, Server
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVER = '<img src=x onerror=alert(1)> "down" & <b>out</b>'
RULE = "<script>alert(2)</script> down"


def test_it_shows_an_alert_live_in_the_banner_page_and_timeline(operator: User, browser_page: Any) -> None:
    AlertRule.objects.create(name=RULE, kind="server_down", for_s=0)
    page = browser_page(operator)
    page.goto("/audit/")
    banner = page.locator("[data-alert-banner]")
    page.wait_for_timeout(500)  # the banner's socket is open and nothing fires
    assert banner.is_hidden()

    server = Server.objects.create(name=SERVER, url=f"http://127.0.0.1:{free_port_block(1)}")
    scrape(server.id)  # refused: the server is down, and the rule fires in this scrape
    alert = Alert.objects.get(server=server, state="firing")
    banner.wait_for(state="visible", timeout=10000)  # pushed over ws/alerts/, no reload
    assert banner.locator("a").text_content() == "1 alert firing"
    assert SERVER in (banner.locator(".alert-banner-item").text_content() or "")
    screenshot(page, "alert-banner")

    page.goto("/alerts/")
    row = page.locator(f"#alerts-firing tr[data-alert-id='{alert.id}']")
    assert row.locator("td").nth(0).text_content() == f"server_down ({RULE})"
    assert row.locator("td").nth(1).text_content() == SERVER
    row.locator("button[data-acknowledge]").click()
    row = page.locator(f"#alerts-firing tr[data-alert-id='{alert.id}']")
    page.wait_for_function(
        f"document.querySelector(\"#alerts-firing tr[data-alert-id='{alert.id}']\")"
        "?.textContent.includes('acknowledged by otto')",
        timeout=10000,
    )
    assert row.locator("button[data-acknowledge]").count() == 0
    row.locator("button[data-silence='3600']").click()
    quiet = page.locator(f"#alerts-quiet tr[data-alert-id='{alert.id}']")
    quiet.wait_for(timeout=10000)
    assert "(otto)" in (quiet.locator("td").nth(5).text_content() or "")
    assert page.locator("#alerts-firing tbody tr").count() == 0
    page.locator("[data-alert-banner].alert-banner-quiet").wait_for(timeout=10000)  # heard live
    assert "(1 silenced)" in (banner.text_content() or "")
    screenshot(page, "alerts-page")

    quiet.locator("a", has_text="timeline").click()
    entry = page.locator("#timeline li[data-kind='alert']").first
    entry.wait_for(timeout=10000)
    assert entry.locator(".timeline-title").text_content() == "server_down firing"
    assert "timeline-near" in (entry.get_attribute("class") or "")  # the alert's moment
    screenshot(page, "alert-timeline")

    assert page.locator("img").count() == 0 and page.locator("b").count() == 0
    assert page.dialogs == []
    assert page.errors == []
    alert.refresh_from_db()
    assert alert.silenced_by == operator and alert.silenced_until is not None
    assert alert.acknowledged_by == operator and alert.acknowledged_at is not None
