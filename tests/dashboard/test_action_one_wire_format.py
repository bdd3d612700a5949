"""One Action wire format: the API's answer, the `fleet.action` websocket frame and the
page's seed carry the same object for the same action, and the schema describes it."""

import json
import re
from datetime import timedelta

import pytest
import yaml
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django.utils import timezone

from fleet.control import record
from fleet.models import Action, ModelVersion, Server
from tests.conftest import client_for
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def _seed(user, path: str) -> dict:
    client = Client()
    client.force_login(user)
    page = client.get(path)
    assert page.status_code == 200
    seed = re.search(
        r'<script id="page-data" type="application/json">(.*?)</script>', page.content.decode(), re.S
    )
    assert seed, "the page carries no page-data seed"
    return json.loads(seed.group(1))  # json_script escapes <, > and & as \\u00XX: plain JSON


def _frame(user, server: Server, action: Action) -> dict:
    ws = communicator(f"/ws/servers/{server.id}/", user=user)

    async def scenario() -> dict:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(record.publish)(action.id)
            while True:
                message = await ws.receive_json_from(timeout=10)
                if message["type"] == "fleet.action":
                    return message
        finally:
            await ws.disconnect()

    frame = async_to_sync(scenario)()
    assert frame.pop("type") == "fleet.action"
    return frame


@pytest.mark.parametrize("state", ["succeeded", "queued"])
def test_it_sends_the_same_action_object_everywhere(viewer, operator, state) -> None:
    server = Server.objects.create(name="edge-7", url="http://127.0.0.1:9")
    now = timezone.now()
    # An earlier load, so that a queued action carries an estimate.
    Action.objects.create(
        kind="load", server=server, model="versioned", state="succeeded", requested_by=operator,
        started_at=now - timedelta(seconds=9), finished_at=now - timedelta(seconds=7), load_duration_s=2.0,
    )  # fmt: skip
    action = Action.objects.create(
        kind="promote",
        server=server,
        model="versioned",
        state=state,
        requested_by=operator,
        parameters={"version": 2, "previous_versions": ["3"]},
        **(
            {"started_at": now - timedelta(seconds=3), "finished_at": now, "load_duration_s": 2.5}
            if state == "succeeded"
            else {}
        ),
        result="loaded" if state == "succeeded" else "",
    )

    api = client_for(viewer).get(f"/api/actions/{action.id}/").json()
    listed = client_for(viewer).get(f"/api/actions/?server={server.id}").json()
    seeds = [_seed(viewer, path) for path in ("/", f"/servers/{server.id}/")]
    frame = _frame(viewer, server, action)

    assert api == frame
    assert api == next(a for a in listed if a["id"] == action.id)
    for seed in seeds:
        assert api == next(a for a in seed["actions"] if a["id"] == action.id)
    assert set(api) == set(record.ActionRecord.__annotations__)
    assert (api["server"], api["server_name"], api["requested_by"]) == (server.id, "edge-7", "otto")
    assert api["estimate_s"] == (None if state == "succeeded" else 2.0)


def test_it_answers_a_control_request_with_that_object_and_describes_it_in_the_schema(admin) -> None:
    server = Server.objects.create(name="edge-8", url="http://127.0.0.1:9")
    # Known from the last inventory: the request needs no call to Triton.
    ModelVersion.objects.create(server=server, name="fast", version="1", state="READY")
    accepted = client_for(admin).post(f"/api/servers/{server.id}/models/fast/load/", {}, format="json")
    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    action_id = body.pop("action_id")
    assert body == client_for(admin).get(f"/api/actions/{action_id}/").json()
    assert (body["id"], body["state"], body["kind"]) == (action_id, "queued", "load")

    schema = yaml.safe_load(client_for(admin).get("/api/schema/").content)
    described = schema["components"]["schemas"]["Action"]["properties"]
    assert set(described) == set(record.ActionRecord.__annotations__)
    assert set(schema["components"]["schemas"]["ActionAccepted"]["properties"]) == set(described) | {
        "action_id"
    }
