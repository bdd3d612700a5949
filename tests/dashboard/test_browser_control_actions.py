"""An operator loads a model from its page; every open page follows the action live."""

import pytest

from fleet.models import Action, ModelVersion, Server
from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_loads_a_model_from_its_page_and_shows_progress_live(
    operator, viewer, triton_factory, server_for, celery_worker_process, browser_page
) -> None:
    server = server_for(triton_factory())
    celery_worker_process.wait_for(
        lambda: ModelVersion.objects.filter(server=server, name="longtail").exists(), timeout=30
    )

    watcher = browser_page(viewer)  # another person, on the fleet overview
    watcher.goto("/")
    page = browser_page(operator)
    page.goto(f"/servers/{server.id}/models/longtail/")
    page.click("#controls form:has(input[value=load]) button")

    feed = "#action-feed .action-succeeded"
    page.wait_for_selector(feed, timeout=60000)
    text = page.inner_text("#action-feed")
    assert "load longtail on" in text and "by otto" in text
    watcher.wait_for_selector(feed, timeout=10000)  # pushed to the other page, no reload
    # The versions table follows the repository index without a reload.
    page.wait_for_selector("#versions tr[data-version='1'] .state-ready", timeout=15000)
    screenshot(page, "model-control")
    screenshot(watcher, "overview-action")

    action = Action.objects.get(server=server, model="longtail")
    assert (action.kind, action.state, action.requested_by) == ("load", "succeeded", operator)
    celery_worker_process.wait_for(
        lambda: ModelVersion.objects.filter(server=server, name="longtail", state="READY").exists()
    )
    assert Server.objects.get(id=server.id).status == Server.Status.UP


def test_it_shows_no_control_buttons_to_a_viewer(viewer, triton, server_for, browser_page) -> None:
    from fleet import services

    server = server_for(triton)
    services.scrape_server(server.id)
    page = browser_page(viewer)
    page.goto(f"/servers/{server.id}/models/fast/")
    assert page.locator("#controls button").count() == 0
    assert "Only operators" in page.inner_text("#controls")
