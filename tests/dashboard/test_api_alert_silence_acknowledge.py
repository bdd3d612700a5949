"""Silencing and acknowledging an alert over the API: operators may, viewers may not; each
is kept on the row (who, until or when) and answered as the one Alert wire format."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fleet import services
from fleet.demo.machine import free_port_block
from fleet.models import Alert, AlertRule, Server
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_lets_operators_silence_and_acknowledge(operator: User, viewer: User) -> None:
    rule = AlertRule.objects.create(name="down now", kind="server_down", for_s=0)
    server = Server.objects.create(name="gone", url=f"http://127.0.0.1:{free_port_block(1)}")
    services.scrape_server(server.id)
    alert = Alert.objects.get(rule=rule, server=server)
    vera, otto = client_for(viewer), client_for(operator)

    assert vera.post(f"/api/alerts/{alert.id}/silence/", {"seconds": 60}, format="json").status_code == 403
    assert vera.post(f"/api/alerts/{alert.id}/acknowledge/").status_code == 403
    assert otto.post(f"/api/alerts/{alert.id}/silence/", {"seconds": -1}, format="json").status_code == 400

    acked = otto.post(f"/api/alerts/{alert.id}/acknowledge/").json()
    assert acked["acknowledged_by"] == "otto" and acked["acknowledged_at"]
    assert not acked["silenced"] and acked["state"] == "firing"
    silenced = otto.post(f"/api/alerts/{alert.id}/silence/", {"seconds": 60}, format="json").json()
    assert silenced["silenced"] and silenced["silenced_by"] == "otto"
    lifted = otto.post(f"/api/alerts/{alert.id}/silence/", {"seconds": 0}, format="json").json()
    assert not lifted["silenced"] and lifted["silenced_until"] is None
    assert lifted["acknowledged_by"] == "otto"  # acknowledging outlives the silence
