"""The demo `pipeline` ensemble read as a DAG, with live figures per step from the scrapes."""

from __future__ import annotations

import time

from fleet import services
from fleet.demo.traffic import send_inferences
from fleet.inside.pipeline import ensembles_using
from tests.conftest import client_for


def test_it_draws_preprocess_then_fast_with_tensors_on_the_edges(viewer, triton, server_for) -> None:
    server = server_for(triton)
    services.scrape_server(server.id)
    send_inferences(server.url, "pipeline", 20)
    time.sleep(0.2)
    services.scrape_server(server.id)

    response = client_for(viewer).get(f"/api/servers/{server.id}/models/pipeline/pipeline/")

    assert response.status_code == 200
    body = response.json()
    assert body["inputs"] == ["RAW"] and body["outputs"] == ["OUTPUT0"]
    assert [(s["model"], s["inputs"], s["outputs"]) for s in body["steps"]] == [
        ("preprocess", {"RAW": "RAW"}, {"PREPROCESSED": "preprocessed"}),
        ("fast", {"INPUT0": "preprocessed"}, {"OUTPUT0": "OUTPUT0"}),
    ]
    assert body["edges"] == [
        {"source": "input:RAW", "target": "step:0", "tensor": "RAW"},
        {"source": "step:0", "target": "step:1", "tensor": "preprocessed"},
        {"source": "step:1", "target": "output:OUTPUT0", "tensor": "OUTPUT0"},
    ]
    for step in body["steps"]:
        assert step["inferences_per_s"] > 0, step
        assert step["compute_us"] > 0 and step["queue_us"] is not None and step["pending"] is not None
    assert body["bottleneck"] in (0, 1)
    assert ensembles_using(server, "preprocess") == ["pipeline"]
    assert ensembles_using(server, "slow") == []


def test_it_answers_404_for_a_model_that_is_not_an_ensemble(viewer, scraped) -> None:
    response = client_for(viewer).get(f"/api/servers/{scraped.id}/models/fast/pipeline/")

    assert response.status_code == 404
