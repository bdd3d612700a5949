"""A pinned deployment's model is never idle-unloaded by the autopilot on the servers the
deployment selects; the same model on a server it does not select is."""

import time

import pytest

from fleet import services
from fleet.autopilot import idle
from fleet.models import AutopilotPolicy, Deployment
from tests.autopilot_support import REPOSITORY, seed_footprints

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_a_pinned_deployments_model(triton_factory, server_for) -> None:
    servers = [server_for(triton_factory(REPOSITORY, models=["mem128"], name=f"t{i}")) for i in range(2)]
    for server in servers:
        services.refresh_inventory(server)
        seed_footprints(server, {"mem128": 128})
        AutopilotPolicy.objects.create(
            server=server, enabled=True, idle_unload_s=1, dry_run=True, memory_budget_bytes=2**30
        )
    Deployment.objects.create(
        name="kept", model="mem128", server_ids=[servers[0].id], versions=[1], pinned=True
    )
    time.sleep(1.2)

    assert idle.plan(servers[0]) == []
    assert [(s["model"], s["step"]) for s in idle.plan(servers[1])] == [("mem128", "unload")]
    Deployment.objects.filter(name="kept").update(pinned=False)
    assert [(s["model"], s["step"]) for s in idle.plan(servers[0])] == [("mem128", "unload")]
