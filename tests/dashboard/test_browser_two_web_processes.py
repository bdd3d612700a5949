"""Two web processes behind the same Redis: a browser on each receives the same live frame."""

import pytest

from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAST_AT = "document.getElementById('chart-cpu-memory')?.dataset.lastAt"


def test_it_delivers_one_frame_through_both_processes(
    viewer, triton, server_for, asgi_server, asgi_server_factory, browser_page
) -> None:
    server = server_for(triton)
    scrape(server.id)
    scrape(server.id)
    second = asgi_server_factory()
    pages = [browser_page(viewer), browser_page(viewer, second)]
    for page in pages:
        page.goto(f"/servers/{server.id}/")
        page.wait_for_function(
            "document.getElementById('chart-cpu-memory')?.dataset.points > 0", timeout=30000
        )
    before = [float(page.evaluate(LAST_AT)) for page in pages]

    scrape(server.id)  # one frame, published once to the channel layer

    for page in pages:
        page.wait_for_function(f"Number({LAST_AT}) > {max(before)}", timeout=10000)
    after = {float(page.evaluate(LAST_AT)) for page in pages}
    assert len(after) == 1, f"the pages show different frames: {after}"
    assert pages[0].url.split("/")[2] != pages[1].url.split("/")[2]
    screenshot(pages[1], "server-second-web-process")
