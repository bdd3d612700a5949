"""The rollout page in real Chromium: the open deployments page links the rollout as it
starts (live, over ws/deployments/); opened then, its canary wave goes from loading to
baking with the smoke gate's evidence over the websocket (no reload); the abort button rolls
the canary back and the page shows the rollout aborted. A deployment named with markup shows
as text on the rollout, deployments, model and server pages; the overview counts the fleet's
deployment targets in sync."""

import pytest

from tests.actions_support import served_version
from tests.browser import screenshot
from tests.conftest import client_for
from tests.deploy_support import deploy, in_sync, pool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = '<b>ranking</b> "&amp;" <img src=x onerror=alert(1)>'


def test_it_follows_a_rollout_live_and_aborts_it(
    admin, operator, triton_factory, server_for, celery_worker_factory, browser_page
) -> None:
    fleet = pool(triton_factory, server_for, admin, 2)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], name=NAME, gates={"bake_s": 120})
    in_sync(operator, deployment["id"], 2)

    page = browser_page(operator)
    page.goto("/deployments/")
    row = page.locator(f"#deployments tr[data-deployment-id='{deployment['id']}']")
    assert row.locator(".deployment-name").text_content() == NAME
    assert row.locator(".target.state-in_sync").count() == 2

    response = client_for(operator).patch(
        f"/api/deployments/{deployment['id']}/", {"versions": [2]}, format="json"
    )
    rollout_id = response.json()["rollout_id"]
    # The deployments page, still open, hears of the rollout over its socket.
    row.locator(f"a[href='/rollouts/{rollout_id}/']").wait_for(timeout=30000)
    page.goto(f"/rollouts/{rollout_id}/")
    assert page.locator("#deployment-name").text_content() == NAME
    assert NAME in page.title()
    # Live: the canary reaches its bake with the smoke gate's evidence, without a reload.
    page.wait_for_selector("#waves li[data-wave='0'][data-state='baking']", timeout=60000)
    smoke = page.locator("#waves li[data-wave='0'] tr.gate-passed[data-kind='smoke'] .gate-evidence")
    assert smoke.text_content() == 'v2 answered {"OUTPUT0":[2]}'
    assert page.locator("#waves li[data-wave='1']").get_attribute("data-state") == "pending"
    screenshot(page, "rollout-baking")

    page.click("#rollout-controls button[data-verb=abort]")
    page.wait_for_selector("#rollout-state[data-state='aborted']", timeout=60000)
    assert page.locator("#rollout-error").text_content() == "aborted by otto"
    assert page.locator("#waves li[data-wave='0']").get_attribute("data-state") == "rolled_back"
    assert "abort by otto" in page.inner_text("#rollout-timeline")
    assert page.locator("#rollout-controls button:enabled").count() == 0
    screenshot(page, "rollout-aborted")
    for triton, _server in fleet:
        assert served_version(triton.http_url) == 1

    canary = fleet[0][1]
    page.goto(f"/servers/{canary.id}/models/versioned/")
    assert page.locator("#model-deployments .deployment-name").text_content() == NAME
    page.goto(f"/servers/{canary.id}/")
    row = page.locator(f"#server-deployments tr[data-deployment='{deployment['id']}']")
    assert row.locator(".deployment-name").text_content() == NAME
    assert row.locator(".target-state").text_content() in {"in_sync", "converging"}
    page.goto("/")
    assert "in sync" in page.inner_text("#fleet-deployments")

    assert page.locator("main b").count() == 0
    assert page.locator("img").count() == 0
    assert page.dialogs == []
    assert page.errors == []
