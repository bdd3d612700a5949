"""The scraper emits only catalog metrics, and every catalog row read from the exposition is
emitted: by the real Triton (CPU) under traffic, and by a recorded GPU server's exposition."""

import time
from pathlib import Path

import requests

from fleet.catalog import METRICS, PROMETHEUS_METRICS
from fleet.demo.traffic import send_inferences
from fleet.derive import Snapshot, derive, parse

DATA = Path(__file__).parent.parent / "data"


def emitted_by_triton(triton) -> set[str]:
    before = parse(requests.get(triton.metrics_url, timeout=5).text, at=time.time())
    send_inferences(triton.http_url, "fast", 8)
    after = parse(requests.get(triton.metrics_url, timeout=5).text, at=time.time() + 1)
    return {d.metric for d in derive(before, after)}


def emitted_by_recorded_gpu_server() -> set[str]:
    """A recorded GPU exposition, and the same one a second later with every counter grown."""
    before = parse((DATA / "triton_gpu_metrics.txt").read_text(), at=1.0)
    after = Snapshot(at=2.0, counters={k: v + 1 for k, v in before.counters.items()}, gauges=before.gauges)
    return {d.metric for d in derive(before, after)}


def test_it_emits_only_catalog_metrics_and_prometheus_mode_has_each(triton) -> None:
    emitted = emitted_by_triton(triton) | emitted_by_recorded_gpu_server()
    assert emitted <= set(METRICS)
    assert emitted <= set(PROMETHEUS_METRICS)


def test_it_emits_every_catalog_row_read_from_the_exposition(triton) -> None:
    emitted = emitted_by_triton(triton) | emitted_by_recorded_gpu_server()
    assert set(PROMETHEUS_METRICS) - emitted == set()
    assert {"inferences_per_s", "queue_us_per_request", "cpu_utilization"} <= emitted_by_triton(triton)
