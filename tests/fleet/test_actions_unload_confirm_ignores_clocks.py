"""The unload confirmation does not compare Triton's clock with ours: whether a model
served traffic within FLEET_UNLOAD_CONFIRM_WINDOW comes from Triton's request counts and
FleetDeck's own scrapes, so a clock ten minutes off either way changes nothing."""

import time

import pytest

from fleet import services
from fleet.demo.traffic import send_inferences
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SKEW_S = 600.0


def _scrape_for(server, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        services.scrape_server(server.id)
        time.sleep(0.3)


def _unload(user, server, monkeypatch, skew: float) -> tuple[int, str, str]:
    # Our clock against Triton's: moving ours is the same as moving Triton's the other way,
    # and a test cannot move a real Triton's clock.
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real() + skew)
        answer = client_for(user).post(f"/api/servers/{server.id}/models/fast/unload/", {}, format="json")
    return answer.status_code, answer.json().get("code", ""), answer.json().get("detail", "")


def test_it_asks_by_traffic_not_by_clocks(
    operator, triton_factory, server_for, settings, monkeypatch
) -> None:
    # Scraped every 0.3 s; an interval of 1 s lets a busy machine's slower scrape pass
    # without reading as a gap in the record.
    settings.FLEET_SCRAPE_INTERVAL = 1.0
    settings.FLEET_UNLOAD_CONFIRM_WINDOW = 4.0
    server = server_for(triton_factory())
    services.refresh_inventory(server)
    _scrape_for(server, 1.0)
    send_inferences(server.url, "fast", 1)
    _scrape_for(server, 0.5)
    # Served a second ago; our clock ten minutes ahead of Triton's.
    status, code, detail = _unload(operator, server, monkeypatch, +SKEW_S)
    assert (status, code) == (409, "confirm_required")
    assert "served requests in the last 4 s" in detail

    # Quiet for longer than the window (and watched all along); our clock ten minutes behind.
    _scrape_for(server, settings.FLEET_UNLOAD_CONFIRM_WINDOW + 1.0)
    status, _, detail = _unload(operator, server, monkeypatch, -SKEW_S)
    assert status == 202, detail
