"""Samples that are not finite (NaN, ±Inf) are left out and counted, and scraping goes on.

A real Triton does not export them; a crafted endpoint does (fault injection).
"""

import json
import math

import pytest

from fleet import services, storage
from fleet.derive import parse
from fleet.models import Server
from tests.crafted_triton import crafted_triton


def exposition(success: float, gpu_b: str = "5") -> str:
    return f"""# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="fast",version="1"}} {success}
nv_inference_request_success{{model="odd",version="1"}} NaN
nv_inference_request_success{{gpu_uuid="GPU-a",model="gpu",version="1"}} 7
nv_inference_request_success{{gpu_uuid="GPU-b",model="gpu",version="1"}} {gpu_b}
# TYPE nv_inference_count counter
nv_inference_count{{model="odd",version="1"}} +Inf
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{{model="odd",version="1"}} -Inf
nv_inference_pending_request_count{{model="fast",version="1"}} 2
"""


def test_it_leaves_out_and_counts_values_that_are_not_finite() -> None:
    snap = parse(exposition(10, gpu_b="NaN"), at=1.0)
    assert snap.counters == {("nv_inference_request_success", "fast", "1", ""): 10.0}
    assert snap.gauges == {("nv_inference_pending_request_count", "fast", "1", ""): 2.0}
    # odd: NaN, +Inf, -Inf; gpu: one GPU's NaN drops the model's sum, which would look
    # like a reset if it were the other GPU's count alone.
    assert snap.dropped == 4
    json.dumps(snap.to_json(), allow_nan=False)  # what PostgreSQL's jsonb accepts


@pytest.mark.django_db
def test_it_keeps_scraping_a_server_that_exports_nan() -> None:
    with crafted_triton() as triton:
        server = Server.objects.create(name="nan", url=triton.url, metrics_url=triton.metrics_url)
        triton.metrics = exposition(10)
        assert services.scrape_server(server.id) is True
        triton.metrics = exposition(30)
        assert services.scrape_server(server.id) is True

    server.refresh_from_db()
    assert server.status == Server.Status.UP
    assert server.last_counters is not None
    values = [p for p in storage.points(server) if p.value is not None]
    assert all(math.isfinite(p.value) for p in values if p.value is not None)
    rates = {(p.model, p.metric) for p in values}
    assert ("fast", "requests_per_s") in rates and ("gpu", "requests_per_s") in rates
    assert not {metric for model, metric in rates if model == "odd"}
