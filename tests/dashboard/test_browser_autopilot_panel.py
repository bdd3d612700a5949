"""The server page shows the autopilot's budget bar (pinned, loaded, free, to scale) and its
plan (what would be unloaded next, and why), in real Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.models import AutopilotPolicy, Footprint, ModelVersion, Server
from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MIB = 2**20


def test_it_shows_the_budget_bar_and_the_plan(viewer, browser_page) -> None:
    server = Server.objects.create(name="tail-box", url="http://127.0.0.1:9")
    now = timezone.now()
    for name, mib, idle_min, stamp in (
        ("mem128", 128, 90, 1_000),
        ("mem256", 256, 45, 2_000),
        ("mem384", 384, 1, 3_000),
    ):
        ModelVersion.objects.create(
            server=server,
            name=name,
            version="1",
            state="READY",
            last_inference_ms=stamp,
            last_inference_seen_at=now - timedelta(minutes=idle_min),
        )
        for _ in range(5):
            Footprint.objects.create(
                server=server, name=name, bytes=mib * MIB, gauge="nv_cpu_memory_used_bytes"
            )
    ModelVersion.objects.create(server=server, name="mem512", version="", state="UNAVAILABLE")
    AutopilotPolicy.objects.create(
        server=server,
        enabled=True,
        memory_budget_bytes=1024 * MIB,
        idle_unload_s=1800,
        pinned=["mem128"],
        dry_run=True,
    )

    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/")

    bar = page.locator("#autopilot .budget-track")
    total = bar.bounding_box()["width"]
    widths = {
        part: page.locator(f"#autopilot .budget-{part}").bounding_box()["width"] / total
        for part in ("pinned", "loaded", "free")
    }
    assert widths == pytest.approx({"pinned": 0.125, "loaded": 0.625, "free": 0.25}, abs=0.01)
    legend = page.locator("#autopilot .budget-legend").text_content()
    assert (
        "pinned 128.0 MiB" in legend
        and "loaded 640.0 MiB" in legend
        and "free 256.0 MiB of 1.0 GiB" in legend
    )
    assert "dry run" in page.locator("#autopilot h2").text_content()
    steps = page.locator("#autopilot-plan li")
    # mem128 is idle longest but pinned; mem256 idle 45 min; mem384 served a minute ago.
    assert steps.count() == 2
    assert (
        steps.nth(0).get_attribute("data-model") == "mem256"
        and steps.nth(0).get_attribute("data-step") == "unload"
    )
    assert "idle 45 min" in steps.nth(0).text_content()
    assert (
        steps.nth(1).get_attribute("data-model") == "mem384"
        and steps.nth(1).get_attribute("data-step") == "evict next"
    )
    assert "256.0 MiB" in page.locator("#footprints [data-footprint='mem256']").text_content()
    assert not page.errors
    screenshot(page, "server-autopilot")
