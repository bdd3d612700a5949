"""The batches of a window are the delta of two readings; a reload (counters back at zero)
counts from zero, as Prometheus' rate() does, instead of going negative."""

from __future__ import annotations

from typing import Any

from fleet.inside.batching import delta, totals_of

STATS: list[dict[str, Any]] = [
    {
        "inference_count": 30,
        "execution_count": 10,
        "inference_stats": {"success": {"count": 30, "ns": 0}, "queue": {"count": 30, "ns": 3_000_000}},
        "batch_stats": [
            {"batch_size": 1, "compute_infer": {"count": 4, "ns": 1}},
            {"batch_size": 4, "compute_infer": {"count": 4, "ns": 1}},
            {"batch_size": 5, "compute_infer": {"count": 2, "ns": 1}},
        ],
    }
]


def test_it_takes_the_delta_of_two_readings() -> None:
    earlier = {
        "inference_count": 4,
        "execution_count": 4,
        "inference_stats": {"success": {"count": 4}, "queue": {"ns": 0}},
        "batch_stats": [{"batch_size": 1, "compute_infer": {"count": 4, "ns": 1}}],
    }
    start = totals_of([earlier], 100.0)
    end = totals_of(STATS, 110.0)

    window = delta(start, end)

    assert window["seconds"] == 10.0
    assert window["histogram"] == [{"size": 4, "executions": 4}, {"size": 5, "executions": 2}]
    assert window["mean_batch_size"] == (4 * 4 + 5 * 2) / 6
    assert window["inferences_per_execution"] == 26 / 6
    assert window["inferences_per_s"] == 2.6
    assert window["queue_us_per_request"] == 3_000_000 / 1000 / 26


def test_it_counts_from_zero_after_a_reload() -> None:
    before_reload = totals_of([{**STATS[0], "inference_count": 500, "execution_count": 200}], 100.0)
    after_reload = totals_of(STATS, 110.0)

    window = delta(before_reload, after_reload)

    assert window["seconds"] is None  # since the reload: the start is unknown
    assert sum(row["executions"] for row in window["histogram"]) == 10
    assert window["inferences_per_execution"] == 3.0
