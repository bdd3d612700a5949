"""The overview, server and model pages render what a scrape of a real Triton stored."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_every_server_with_status_and_load_on_the_overview(viewer, scraped) -> None:
    response = signed_in(viewer).get("/")
    assert response.status_code == 200
    fleet = response.context["fleet"]
    (summary,) = fleet.servers
    assert summary["status"] == "up"
    assert summary["inferences_per_s"] and summary["inferences_per_s"] > 0
    assert (summary["ready"], summary["total"]) == (5, 6)  # longtail is in the repository, not loaded
    assert [m["label"] for m in summary["memory"]] == ["CPU"]  # no GPU: host memory instead
    assert fleet.busiest[0].model == "fast"
    html = response.content.decode()
    assert 'class="status status-up"' in html
    assert "inferences/s" in html
    assert 'id="page-data"' in html


def test_it_shows_a_models_table_on_the_server_page(viewer, scraped) -> None:
    response = signed_in(viewer).get(f"/servers/{scraped.id}/")
    assert response.status_code == 200
    rows = {(r.name, r.version): r for r in response.context["models"]}
    assert rows[("fast", "1")].state == "READY"
    assert rows[("fast", "1")].values["inferences_per_s"] > 0
    assert rows[("longtail", "")].reason == "not loaded"
    assert response.context["page"]["interval"] > 0  # the client-side stale timer needs it


def test_it_shows_config_versions_and_comparisons_on_the_model_page(viewer, scraped) -> None:
    response = signed_in(viewer).get(f"/servers/{scraped.id}/models/versioned/", {"range": "6h"})
    assert response.status_code == 200
    assert response.context["config"]["backend"] == "python"
    assert response.context["page"]["versions"] == ["3"]
    assert response.context["page"]["since"] == 6 * 3600
    metrics = [c.metric for c in response.context["detail"].comparisons]
    assert metrics == ["inferences_per_s", "queue_us_per_request", "pending_requests"]


def test_it_answers_404_for_unknown_servers_and_models(viewer, scraped) -> None:
    client = signed_in(viewer)
    assert client.get("/servers/987654/").status_code == 404
    assert client.get(f"/servers/{scraped.id}/models/nope/").status_code == 404
    assert client.get("/servers/987654/models/fast/").status_code == 404


@pytest.mark.parametrize("bad", ["2h", "", "1h; drop", "7D"])
def test_it_answers_400_for_a_bad_time_range(viewer, scraped, bad) -> None:
    client = signed_in(viewer)
    for path in ("/", f"/servers/{scraped.id}/", f"/servers/{scraped.id}/models/fast/"):
        response = client.get(path, {"range": bad})
        # An empty value means the default range, like a missing one.
        assert response.status_code == (200 if bad == "" else 400), path
