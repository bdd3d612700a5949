"""The incident timeline of a server and of one model on it, from what FleetDeck recorded
as it happened on a real Triton: the index's state changes, the server going down (an
alert firing) and coming back (the alert resolving)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.utils import timezone

from fleet import services
from fleet.models import AlertRule, Deployment, DeploymentChange, DeploymentTarget, Rollout, Server
from tests.conftest import client_for
from tests.triton_fixtures import TritonFactory

pytestmark = pytest.mark.django_db


def test_it_lists_state_changes_down_up_and_alerts_newest_first(
    triton_factory: TritonFactory, server_for: Any, viewer: User
) -> None:
    AlertRule.objects.create(name="down", kind="server_down", for_s=0)
    triton = triton_factory(models=["fast", "versioned"], name="flaky")
    server: Server = server_for(triton)
    services.scrape_server(server.id)
    requests.post(f"{triton.http_url}/v2/repository/models/fast/unload", timeout=10).raise_for_status()
    services.refresh_inventory(server)
    triton.kill()
    services.scrape_server(server.id)
    triton.start()
    triton.wait_ready()
    services.scrape_server(Server.objects.get(id=server.id).id)

    deployment = Deployment.objects.create(name="fast-here", model="fast", versions="latest")
    DeploymentTarget.objects.create(deployment=deployment, server=server)
    DeploymentChange.objects.create(
        deployment=deployment, deployment_name="fast-here", kind="changed", changes={"versions": [[1], [2]]}
    )
    stamp = timezone.now().isoformat().replace("+00:00", "Z")
    rollout = Rollout.objects.create(
        deployment=deployment, to_versions=[2], timeline=[{"at": stamp, "text": "wave 1 of 1 started"}]
    )

    vera = client_for(viewer)
    whole = vera.get(f"/api/servers/{server.id}/timeline/").json()
    titles = [e["title"] for e in whole]
    assert "server_down firing" in titles and "server_down resolved" in titles
    assert "flaky stopped answering" in titles and "flaky answered again" in titles
    assert any(t.startswith("fast v1: READY → UNAVAILABLE") or t.startswith("fast v1: READY → UNLOADING")
               for t in titles), titles  # fmt: skip
    stamps = [e["at"] for e in whole]
    assert stamps == sorted(stamps, reverse=True)

    fast = vera.get(f"/api/servers/{server.id}/timeline/", {"model": "fast"}).json()
    assert {e["model"] for e in fast} <= {"fast", ""}  # its own entries and the server's
    assert not any(e["title"].startswith("versioned") for e in fast)
    assert any(e["kind"] == "state" and e["model"] == "fast" for e in fast)
    (step,) = [e for e in fast if e["kind"] == "rollout"]
    assert (step["title"], step["ref"]) == (
        f"rollout #{rollout.id} of fast-here: wave 1 of 1 started",
        rollout.id,
    )
    (change,) = [e for e in fast if e["kind"] == "config"]
    assert change["title"] == "deployment fast-here changed by -" and "[1], [2]" in change["detail"]
    assert vera.get(f"/api/servers/{server.id}/timeline/", {"hours": "-1"}).status_code == 400
