"""When the socket drops, the page reconnects and fills what it missed from the API."""

from pathlib import Path

import pytest

from fleet.models import Server
from tests.browser import scrape, screenshot, start_asgi_server, stop_asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = "document.getElementById('chart-cpu-memory')"


def test_it_reconnects_and_fills_the_gap_from_the_api(
    viewer, triton, server_for, asgi_server, browser_page, tmp_path: Path
) -> None:
    server = server_for(triton)
    scrape(server.id)
    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/")
    page.wait_for_function(f"{CHART}?.dataset.points > 0", timeout=30000)
    before = int(page.evaluate(f"{CHART}.dataset.points"))

    stop_asgi_server(asgi_server)  # the web process goes away: the socket drops
    page.wait_for_function("document.body.classList.contains('offline')", timeout=10000)
    for _ in range(3):  # scrapes whose frames nobody relays
        scrape(server.id)
    last_scrape = Server.objects.get(id=server.id).last_scrape_at
    assert last_scrape is not None
    last_at = last_scrape.timestamp()

    port = int(asgi_server.url.rsplit(":", 1)[1])
    restarted = start_asgi_server(tmp_path, "web-again", port=port)
    try:
        page.wait_for_function("!document.body.classList.contains('offline')", timeout=30000)
        # No scrape since the restart: the new points can only come from the gap fill.
        page.wait_for_function(f"{CHART}.dataset.points >= {before + 3}", timeout=15000)
        assert abs(float(page.evaluate(f"{CHART}.dataset.lastAt")) - last_at) < 0.01
        screenshot(page, "server-after-reconnect")
    finally:
        stop_asgi_server(restarted)
