"""Parsing Triton's exposition: GPU series, sums over gpu_uuid, refusal of non-Triton text."""

from pathlib import Path

import pytest

from fleet.derive import MetricsParseError, derive, parse

DATA = Path(__file__).parent.parent / "data"


def test_it_reads_per_gpu_gauges_from_a_recorded_gpu_exposition() -> None:
    snap = parse((DATA / "triton_gpu_metrics.txt").read_text(), at=1.0)
    got = {(d.metric, d.label): d.value for d in derive(None, snap) if not d.model}
    gpus = {label for metric, label in got if metric == "gpu_memory_used_bytes"}
    assert len(gpus) == 2
    for gpu in gpus:
        assert 0 < got[("gpu_memory_used_bytes", gpu)] <= got[("gpu_memory_total_bytes", gpu)]
        assert 0 <= got[("gpu_utilization", gpu)] <= 1
        assert got[("gpu_power_watts", gpu)] > 0
    assert got[("cpu_memory_total_bytes", "")] > got[("cpu_memory_used_bytes", "")] > 0


def test_it_sums_a_models_series_over_gpu_uuid() -> None:
    text = (DATA / "triton_gpu_metrics.txt").read_text()
    snap = parse(text, at=1.0)
    per_gpu = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("nv_inference_count{gpu_uuid=") and 'model="resnet"' in line
    ]
    assert len(per_gpu) == 2
    assert snap.counters[("nv_inference_count", "resnet", "1", "")] == sum(per_gpu)


@pytest.mark.parametrize(
    "body",
    [
        "this is { not prometheus",
        "# TYPE up gauge\nup 1\n",  # valid Prometheus, but not a Triton endpoint
        'nv_inference_count{model="m" 12\n',
    ],
)
def test_it_refuses_text_that_is_not_a_triton_exposition(body: str) -> None:
    with pytest.raises(MetricsParseError):
        parse(body, at=1.0)
