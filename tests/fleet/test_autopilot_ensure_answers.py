"""Ensure's answers: READY from FleetDeck's cached view (Triton is not asked: it may even be
gone), 202 with the action for wait=false, 404 for a model not in the repository, 403 for a
viewer; and `manage.py fleet ensure` gives the same answer."""

import json

import pytest
from django.core.management import call_command

from fleet import services
from fleet.models import Action
from tests.actions_support import run_in_thread, wait_action
from tests.autopilot_support import REPOSITORY
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_each_case(viewer, operator, triton_factory, server_for, capsys) -> None:
    triton = triton_factory(REPOSITORY, models=["mem128"])
    server = server_for(triton)
    services.refresh_inventory(server)
    otto = client_for(operator)
    base = f"/api/servers/{server.id}/models"

    assert client_for(viewer).post(f"{base}/mem128/ensure/", {}, format="json").status_code == 403
    missing = otto.post(f"{base}/nope/ensure/", {}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    queued = otto.post(f"{base}/mem256/ensure/?wait=false", {}, format="json")  # no worker: stays queued
    assert queued.status_code == 202, queued.json()
    assert queued.json()["state"] == "queued" and not queued.json()["loaded"]
    action = Action.objects.get(id=queued.json()["action_id"])
    assert (action.kind, action.model, str(action.requested_by)) == ("load", "mem256", "autopilot")
    # Run it here, as a worker would; a second call meanwhile joins, it does not queue another.
    run_in_thread(action.id)
    joined = otto.post(f"{base}/mem256/ensure/", {}, format="json").json()
    assert joined["action_id"] == action.id and joined["state"] == "READY"
    assert wait_action(action.id).state == "succeeded"

    triton.stop()  # READY in the cached view: answered without asking Triton
    ready = otto.post(f"{base}/mem128/ensure/", {}, format="json")
    assert ready.status_code == 200
    assert (ready.json()["state"], ready.json()["loaded"], ready.json()["evicted"]) == ("READY", False, [])
    call_command("fleet", "ensure", server.name, "mem128", "--user", "otto")
    assert json.loads(capsys.readouterr().out)["state"] == "READY"
