"""GET /api/servers/{id}/series/ and /models/ against a scraped real Triton."""

import time

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_lists_models_with_state_including_ones_not_loaded(viewer, scraped) -> None:
    rows = client_for(viewer).get(f"/api/servers/{scraped.id}/models/").json()
    by_name = {(r["name"], r["version"]): r for r in rows}
    assert by_name[("fast", "1")]["state"] == "READY"
    assert by_name[("versioned", "3")]["state"] == "READY"
    assert by_name[("longtail", "")] == {
        "name": "longtail",
        "version": "",
        "state": "UNAVAILABLE",
        "reason": "not loaded",
        # Never loaded through FleetDeck, never served: nothing measured yet.
        "memory_bytes": None,
        "load_s": None,
        "last_inference_at": None,
    }


def test_it_returns_a_models_series_with_its_unit(viewer, scraped) -> None:
    response = client_for(viewer).get(
        f"/api/servers/{scraped.id}/series/", {"model": "fast", "metric": "inferences_per_s", "since": "600"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["metric"] == "inferences_per_s"
    assert body["unit"] == "inferences/s"
    ((t, value),) = body["points"]
    assert abs(t - time.time()) < 60
    assert value > 0


def test_it_returns_server_level_memory_without_a_model(viewer, scraped) -> None:
    body = (
        client_for(viewer)
        .get(f"/api/servers/{scraped.id}/series/", {"metric": "cpu_memory_total_bytes", "since": "600"})
        .json()
    )
    assert body["unit"] == "bytes"
    assert len(body["points"]) == 2


@pytest.mark.parametrize(
    "params, field",
    [
        ({"model": "fast", "metric": "bogus"}, "metric"),
        ({"model": "fast", "metric": "inferences_per_s", "since": "-5"}, "since"),
        ({"model": "fast", "metric": "inferences_per_s", "since": "soon"}, "since"),
        ({"metric": "inferences_per_s"}, "model"),
        ({"model": "fast", "metric": "cpu_utilization"}, "model"),
    ],
)
def test_it_rejects_bad_queries_naming_the_field(viewer, scraped, params: dict[str, str], field) -> None:
    response = client_for(viewer).get(f"/api/servers/{scraped.id}/series/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_it_answers_404_for_an_unknown_server(viewer) -> None:
    assert (
        client_for(viewer).get("/api/servers/999/series/", {"metric": "cpu_utilization"}).status_code == 404
    )
    assert client_for(viewer).get("/api/servers/999/models/").status_code == 404
