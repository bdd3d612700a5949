"""A `|` in a model, version or label value keeps its own series: snapshot keys are tuples.

A real Triton takes any model name its repository has; a crafted endpoint gives these.
"""

import json

import pytest

from fleet import services, storage
from fleet.derive import Snapshot, derive, parse
from fleet.models import Server
from tests.crafted_triton import crafted_triton


def exposition(n: int) -> str:
    return f"""# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="a|b",version="1"}} {n}
nv_inference_request_success{{model="a",version="b|1"}} {2 * n}
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{{model="a|b",reason="X|Y",version="1"}} {3 * n}
"""


def test_it_keeps_series_apart_whose_joined_names_would_collide() -> None:
    before = parse(exposition(10), at=100.0)
    assert before.counters[("nv_inference_request_success", "a|b", "1", "")] == 10
    assert before.counters[("nv_inference_request_success", "a", "b|1", "")] == 20
    # The baseline is stored as JSON between scrapes.
    restored = Snapshot.from_json(json.loads(json.dumps(before.to_json())))
    assert restored is not None and restored.counters == before.counters

    got = {
        (d.metric, d.model, d.version, d.label): d.value
        for d in derive(restored, parse(exposition(30), 102.0))
    }
    assert got == {
        ("requests_per_s", "a|b", "1", ""): 10.0,
        ("requests_per_s", "a", "b|1", ""): 20.0,
        ("failures_per_s", "a|b", "1", "X|Y"): 30.0,
    }


@pytest.mark.django_db
def test_it_scrapes_and_stores_models_with_a_pipe_in_their_names() -> None:
    with crafted_triton() as triton:
        server = Server.objects.create(name="pipes", url=triton.url, metrics_url=triton.metrics_url)
        for n in (10, 30):
            triton.metrics = exposition(n)
            assert services.scrape_server(server.id) is True

    server.refresh_from_db()
    assert server.status == Server.Status.UP
    stored = {(p.metric, p.model, p.version, p.label) for p in storage.points(server) if p.value is not None}
    assert {
        ("requests_per_s", "a|b", "1", ""),
        ("requests_per_s", "a", "b|1", ""),
        ("failures_per_s", "a|b", "1", "X|Y"),
    } <= stored
