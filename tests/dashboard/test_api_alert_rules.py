"""Alert rules over the API: the defaults are there on install, operators write, viewers
read, and a bad rule is a 400 naming its field."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from fleet.models import AlertRule, Server

from ..conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_ships_the_default_rules() -> None:
    defaults = {r.kind: r for r in AlertRule.objects.filter(builtin=True)}
    assert set(defaults) == {"server_down", "load_failed", "queue_time"}
    assert defaults["server_down"].for_s == 2 * settings.FLEET_SCRAPE_INTERVAL
    assert defaults["queue_time"].threshold == 100_000.0  # µs: 100 ms
    assert defaults["queue_time"].for_s == 30.0


def test_it_lets_operators_create_patch_and_delete_rules(operator: User, viewer: User) -> None:
    Server.objects.create(name="gpu-a", url="http://127.0.0.1:9", labels={"zone": "a"})
    otto = client_for(operator)
    made = otto.post(
        "/api/alert-rules/",
        {"kind": "queue_time", "threshold": 20000, "for_s": 5, "selector": {"zone": "a"}, "model": "slow"},
        format="json",
    )
    assert made.status_code == 201, made.content
    rule = made.json()
    assert (rule["kind"], rule["threshold"], rule["selector"], rule["model"]) == (
        "queue_time", 20000.0, {"zone": "a"}, "slow",
    )  # fmt: skip
    listed = client_for(viewer).get("/api/alert-rules/").json()
    assert rule in listed
    patched = otto.patch(f"/api/alert-rules/{rule['id']}/", {"threshold": 50000}, format="json")
    assert patched.status_code == 200 and patched.json()["threshold"] == 50000.0
    assert patched.json()["selector"] == {"zone": "a"}  # left out: kept
    assert otto.delete(f"/api/alert-rules/{rule['id']}/").status_code == 204
    assert not AlertRule.objects.filter(id=rule["id"]).exists()


def test_it_refuses_viewers_writing_rules(viewer: User) -> None:
    vera = client_for(viewer)
    assert vera.post("/api/alert-rules/", {"kind": "server_down"}, format="json").status_code == 403
    rule = AlertRule.objects.filter(builtin=True).first()
    assert rule is not None
    assert vera.patch(f"/api/alert-rules/{rule.id}/", {"for_s": 1}, format="json").status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "cpu_melted"}, "kind"),
        ({"kind": "queue_time", "threshold": -1}, "threshold"),
        ({"kind": "queue_time"}, "threshold"),
        ({"kind": "server_down", "selector": {"zone": "nowhere"}}, "selector"),
        ({"kind": "server_down", "for_s": -5}, "for_s"),
        ({"kind": "server_down", "server": 999999}, "server"),
        ({"kind": "server_down", "model": "slow"}, "model"),
    ],
)
def test_it_answers_400_naming_the_field(operator: User, body: dict[str, object], field: str) -> None:
    Server.objects.create(name="gpu-a", url="http://127.0.0.1:9", labels={"zone": "a"})
    answer = client_for(operator).post("/api/alert-rules/", body, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
