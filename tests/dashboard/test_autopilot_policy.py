"""A server's autopilot policy: off by default, read by viewers, written by admins; a budget
smaller than the pinned models' measured footprint is refused with the sum, changing nothing."""

import pytest

from fleet.models import AutopilotPolicy, Footprint, Server
from tests.conftest import client_for

MIB = 2**20


@pytest.fixture
def server(db: None) -> Server:
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")
    for name, mib in (("mem256", 256), ("mem384", 384)):
        Footprint.objects.create(server=server, name=name, bytes=mib * MIB, gauge="nv_cpu_memory_used_bytes")
    return server


def test_it_is_off_by_default(viewer, server) -> None:
    answer = client_for(viewer).get(f"/api/servers/{server.id}/autopilot/").json()

    assert answer == {
        "server": server.id,
        "enabled": False,
        "memory_budget_bytes": None,
        "idle_unload_s": None,
        "pinned": [],
        "dry_run": False,
        "pinned_bytes": 0,
    }


def test_it_lets_only_admins_change_it(viewer, operator, admin, server) -> None:
    url = f"/api/servers/{server.id}/autopilot/"
    body = {"enabled": True, "memory_budget_bytes": 1024 * MIB, "pinned": ["mem256"], "idle_unload_s": 60}

    assert client_for(viewer).put(url, body, format="json").status_code == 403
    assert client_for(operator).put(url, body, format="json").status_code == 403
    answer = client_for(admin).put(url, body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == client_for(viewer).get(url).json()
    assert answer.json()["pinned_bytes"] == 256 * MIB
    assert (answer.json()["enabled"], answer.json()["dry_run"]) == (True, False)
    # Fields left out keep their value.
    again = client_for(admin).put(url, {"dry_run": True}, format="json").json()
    assert (again["dry_run"], again["memory_budget_bytes"], again["pinned"]) == (True, 1024 * MIB, ["mem256"])


def test_it_refuses_a_budget_below_the_pinned_footprint(admin, server) -> None:
    url = f"/api/servers/{server.id}/autopilot/"
    body = {"enabled": True, "memory_budget_bytes": 600 * MIB, "pinned": ["mem256", "mem384"]}

    answer = client_for(admin).put(url, body, format="json")

    assert answer.status_code == 400
    assert str(640 * MIB) in answer.json()["detail"]  # the pinned models' sum, in bytes
    assert "0.62 GiB" in answer.json()["detail"] and answer.json()["code"] == "invalid"
    assert not AutopilotPolicy.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{"memory_budget_bytes": -5}, {"idle_unload_s": 0}, {"pinned": ["../etc"]}, {"enabled": "maybe"}],
)
def test_it_refuses_bad_input(admin, server, body) -> None:
    answer = client_for(admin).put(f"/api/servers/{server.id}/autopilot/", body, format="json")

    assert answer.status_code == 400, answer.json()
    assert not AutopilotPolicy.objects.exists()


def test_it_answers_404_for_an_unknown_server(admin) -> None:
    assert client_for(admin).get("/api/servers/987654/autopilot/").status_code == 404
