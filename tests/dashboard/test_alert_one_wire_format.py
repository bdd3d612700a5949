"""One Alert wire format: the API's answer, the `fleet.alert` frame on ws/alerts/ and the
alerts page's seed carry the same object for the same alert, and the schema names its
fields."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from fleet import services
from fleet.alerting import records, silence
from fleet.demo.machine import free_port_block
from fleet.models import Alert, AlertRule, Server
from tests.conftest import client_for
from tests.dashboard.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def _frame(user: User, alert: Alert) -> dict[str, object]:
    ws = communicator("/ws/alerts/", user=user)

    async def scenario() -> dict[str, object]:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(silence.silence)(alert, 600, user)  # publishes the changed alert
            while True:
                message = await ws.receive_json_from(timeout=10)
                if message["type"] == "fleet.alert":
                    return dict(message)
        finally:
            await ws.disconnect()

    frame = async_to_sync(scenario)()
    assert frame.pop("type") == "fleet.alert"
    return frame


def test_it_sends_the_same_alert_object_everywhere(operator: User) -> None:
    AlertRule.objects.create(name="down now", kind="server_down", for_s=0)
    server = Server.objects.create(name="edge-9", url=f"http://127.0.0.1:{free_port_block(1)}")
    services.scrape_server(server.id)  # refused: down, and the rule fires in this scrape
    alert = Alert.objects.get(server=server, state="firing")  # (a default rule's may be pending)
    frame = _frame(operator, alert)

    api = next(a for a in client_for(operator).get("/api/alerts/?state=firing").json() if a["id"] == alert.id)
    page = Client()
    page.force_login(operator)
    html = page.get("/alerts/").content.decode()
    found = re.search(r'<script id="alerts-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the alerts page carries no seed"
    seed = json.loads(found[1])

    assert api == frame
    assert api == next(a for a in seed["alerts"] if a["id"] == alert.id)
    assert set(api) == set(records.AlertRecord.__annotations__)
    assert (api["server_name"], api["kind"], api["state"]) == ("edge-9", "server_down", "firing")
    assert api["silenced"] and api["silenced_by"] == "otto"
    schema = yaml.safe_load(client_for(operator).get("/api/schema/").content)
    described = schema["components"]["schemas"]["Alert"]["properties"]
    assert set(described) == set(api)
