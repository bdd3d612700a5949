"""The overview's rankings and the model page's comparison follow the frames, ranked and
formatted by the rules the page seed carries (fleet.overview.RANKINGS, the metric catalog)."""

import threading
import time

import pytest

from fleet.demo.traffic import send_inferences
from fleet.models import Server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def traffic(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        send_inferences(url, "fast", 4)
        time.sleep(0.2)


def test_it_ranks_and_formats_live_values_from_the_seed(
    viewer, triton, server_for, celery_worker_process, browser_page
) -> None:
    server = server_for(triton)
    celery_worker_process.wait_for(lambda: Server.objects.get(id=server.id).last_scrape_at, timeout=30)
    page = browser_page(viewer)
    page.goto("/")
    seed = page.evaluate("JSON.parse(document.getElementById('page-data').textContent)")
    assert seed["rankings"]["busiest"] == ["inferences_per_s"]
    assert seed["metrics"]["queue_us_per_request"]["weight"] == "requests_per_s"
    # Only the page's script can fill these again.
    page.evaluate("document.querySelector('#busiest tbody').replaceChildren()")
    page.evaluate("window.__sameDocument = true")

    stop = threading.Event()
    sender = threading.Thread(target=traffic, args=(server.url, stop))
    sender.start()
    try:
        # A row for `fast` on this server, with a positive rate, drawn by overview.js.
        page.wait_for_function(
            """() => [...document.querySelectorAll('#busiest tbody tr')].some(tr =>
                 tr.cells.length === 3 && tr.cells[0].textContent === 'fast'
                 && parseFloat(tr.cells[2].textContent.replace(/,/g, '')) > 0)""",
            timeout=30000,
        )
        assert page.evaluate("window.__sameDocument") is True  # live, not a reload

        page.goto(f"/servers/{server.id}/models/fast/")
        page.evaluate("document.querySelectorAll('#compare [data-now]').forEach(td => td.replaceChildren())")
        now = "#compare tr[data-metric='{}'] [data-now]"
        page.wait_for_function(
            "sel => /^[0-9.,]+ inferences\\/s$/.test(document.querySelector(sel).textContent)"
            " && !document.querySelector(sel).textContent.startsWith('0 ')",
            arg=now.format("inferences_per_s"),
            timeout=30000,
        )
        page.wait_for_function(
            "sel => /^[0-9.]+ (µs|ms|s)\\/request$/.test(document.querySelector(sel).textContent)",
            arg=now.format("queue_us_per_request"),
            timeout=30000,
        )
    finally:
        stop.set()
        sender.join()
    assert page.errors == []
