"""Ensure-loaded under a budget: loading a model that does not fit evicts the least recently
used unpinned model (by Triton's last_inference), a pinned one stays even though it is
older; every decision is an action of the autopilot with its reason; a model that fits
nowhere gets 507 and nothing is evicted."""

import time

import pytest

from fleet import services
from fleet.models import Action, AutopilotPolicy
from tests.actions_support import states
from tests.autopilot_support import REPOSITORY, infer, seed_footprints
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
MIB = 2**20


def test_it_evicts_the_least_recently_used_unpinned_model(
    operator, triton_factory, server_for, celery_worker_process
) -> None:
    triton = triton_factory(REPOSITORY, models=[])
    server = server_for(triton)
    services.refresh_inventory(server)
    seed_footprints(server, {"mem128": 128, "mem256": 256, "mem384": 384, "mem512": 512})
    AutopilotPolicy.objects.create(
        server=server, enabled=True, memory_budget_bytes=1100 * MIB, pinned=["mem128"]
    )
    otto = client_for(operator)

    def ensure(name: str):
        return otto.post(f"/api/servers/{server.id}/models/{name}/ensure/", {}, format="json")

    for name in ("mem128", "mem256", "mem384"):
        answer = ensure(name)
        assert answer.status_code == 200, answer.json()
        assert (answer.json()["state"], answer.json()["loaded"], answer.json()["evicted"]) == (
            "READY",
            True,
            [],
        )
    # mem128 (pinned) never served; mem256 served before mem384.
    infer(triton.http_url, "mem256")
    time.sleep(1.1)
    infer(triton.http_url, "mem384")
    services.refresh_inventory(server)

    answer = ensure("mem512")  # 128 + 256 + 384 + 512 > 1100 MiB

    assert answer.status_code == 200, answer.json()
    assert (answer.json()["state"], answer.json()["loaded"], answer.json()["evicted"]) == (
        "READY",
        True,
        ["mem256"],
    )
    assert answer.json()["waited_s"] > 0
    for name, state in (
        ("mem128", "READY"),
        ("mem256", "UNAVAILABLE"),
        ("mem384", "READY"),
        ("mem512", "READY"),
    ):
        assert states(triton.http_url, name) == [state], name
    unload = Action.objects.get(server=server, model="mem256", kind="unload")
    assert str(unload.requested_by) == "autopilot" and unload.state == "succeeded"
    assert unload.parameters["reason"] == "evicted for mem512: budget 1.07 GiB, needed 0.50 GiB"
    load = Action.objects.get(server=server, model="mem512", kind="load")
    assert str(load.requested_by) == "autopilot"
    assert load.parameters["reason"].startswith("ensure requested by otto; evicting mem256")
    assert load.parameters["evict"] == [unload.id]

    # Again: already READY, answered at once, nothing loaded or evicted.
    again = ensure("mem512").json()
    assert (again["state"], again["loaded"], again["evicted"], again["action_id"]) == (
        "READY",
        False,
        [],
        None,
    )

    # A budget that leaves mem256 no room even with every unpinned model gone: 507, nothing evicted.
    AutopilotPolicy.objects.filter(server=server).update(memory_budget_bytes=300 * MIB)
    refused = ensure("mem256")
    assert refused.status_code == 507, refused.json()
    assert refused.json()["code"] == "insufficient_memory"
    assert (refused.json()["need_bytes"], refused.json()["budget_bytes"], refused.json()["pinned_bytes"]) == (
        256 * MIB,
        300 * MIB,
        128 * MIB,
    )
    assert "nothing was evicted" in refused.json()["detail"]
    assert Action.objects.filter(server=server, kind="unload").count() == 1
    assert states(triton.http_url, "mem384") == ["READY"] and states(triton.http_url, "mem512") == ["READY"]
