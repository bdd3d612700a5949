"""Idle unload: a model whose last_inference has not changed for idle_unload_s (FleetDeck's
clock) is unloaded by the autopilot, with its reason; a pinned one stays, one that served
within the timeout stays, and dry-run changes nothing but shows the plan."""

import time

import pytest
from django.conf import settings

from fleet import services
from fleet.autopilot import idle
from fleet.control import runner
from fleet.models import Action, AutopilotPolicy
from tests.actions_support import states
from tests.autopilot_support import REPOSITORY, infer, seed_footprints

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_unloads_an_idle_model_and_nothing_else(triton_factory, server_for) -> None:
    triton = triton_factory(REPOSITORY, models=["mem128", "mem256"])
    server = server_for(triton)
    services.refresh_inventory(server)
    seed_footprints(server, {"mem128": 128, "mem256": 256})
    rules = AutopilotPolicy.objects.create(
        server=server,
        enabled=True,
        idle_unload_s=2,
        pinned=["mem128"],
        dry_run=True,
        memory_budget_bytes=2**30,
    )
    time.sleep(2.2)

    # Dry run: the plan says it, nothing is requested.
    assert idle.unload_idle(server.id) == []
    steps = idle.plan(server)
    assert [(s["model"], s["step"]) for s in steps] == [("mem256", "unload")]
    assert steps[0]["reason"].startswith("idle ") and steps[0]["bytes"] == 256 * 2**20
    assert not Action.objects.exists()

    # It served just now: not idle, whatever Triton's clock says.
    AutopilotPolicy.objects.filter(server=server).update(dry_run=False)
    infer(triton.http_url, "mem256")
    assert idle.unload_idle(server.id) == []
    assert states(triton.http_url, "mem256") == ["READY"]

    time.sleep(2.2)
    (action_id,) = idle.unload_idle(server.id)
    runner.run_action(action_id)  # as a worker would

    unload = Action.objects.get(id=action_id)
    assert (unload.kind, unload.model, unload.state) == ("unload", "mem256", "succeeded")
    assert str(unload.requested_by) == "autopilot" and unload.parameters["reason"].startswith("idle ")
    assert states(triton.http_url, "mem256") == ["UNAVAILABLE"]
    assert states(triton.http_url, "mem128") == ["READY"]  # pinned
    assert rules.pk and "autopilot-idle" in settings.CELERY_BEAT_SCHEDULE
