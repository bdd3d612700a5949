"""Rate math on parsed expositions, as Prometheus' rate() does it."""

from fleet.derive import Snapshot, derive, parse


def exposition(success: float, queue_us: float, count: float | None = None, failures: float = 0) -> str:
    count = success if count is None else count
    return f"""# HELP nv_inference_request_success Number of successful inference requests
# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="m",version="1"}} {success}
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{{model="m",reason="BACKEND",version="1"}} {failures}
# TYPE nv_inference_count counter
nv_inference_count{{model="m",version="1"}} {count}
# TYPE nv_inference_exec_count counter
nv_inference_exec_count{{model="m",version="1"}} {success}
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{{model="m",version="1"}} {queue_us}
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{{model="m",version="1"}} 2
"""


def values(previous: Snapshot | None, current: Snapshot) -> dict[tuple[str, str], float]:
    return {(d.metric, d.label): d.value for d in derive(previous, current)}


def test_it_yields_no_rate_for_the_first_sample() -> None:
    got = values(None, parse(exposition(10, 1000), at=100.0))
    assert got == {("pending_requests", ""): 2.0}


def test_it_divides_deltas_by_elapsed_seconds() -> None:
    a = parse(exposition(10, 1000), at=100.0)
    b = parse(exposition(30, 5000, count=60, failures=4), at=102.0)
    got = values(a, b)
    assert got[("requests_per_s", "")] == 10.0
    assert got[("inferences_per_s", "")] == 25.0
    assert got[("failures_per_s", "BACKEND")] == 2.0
    assert got[("queue_us_per_request", "")] == 200.0  # 4000 µs over 20 requests
    assert got[("avg_batch_size", "")] == 2.5


def test_it_treats_a_counter_that_went_down_as_a_reset() -> None:
    a = parse(exposition(1000, 90000), at=100.0)
    b = parse(exposition(6, 600), at=103.0)  # restarted: counted 6 since
    got = values(a, b)
    assert got[("requests_per_s", "")] == 2.0
    assert got[("queue_us_per_request", "")] == 100.0
    assert all(v >= 0 for v in got.values())


def test_it_gives_no_per_request_average_without_requests() -> None:
    a = parse(exposition(10, 1000), at=100.0)
    b = parse(exposition(10, 1000), at=105.0)
    got = values(a, b)
    assert got[("requests_per_s", "")] == 0.0
    assert ("queue_us_per_request", "") not in got
    assert ("avg_batch_size", "") not in got


def test_it_survives_a_json_round_trip_of_the_baseline() -> None:
    a = parse(exposition(10, 1000), at=100.0)
    restored = Snapshot.from_json(a.to_json())
    b = parse(exposition(20, 3000), at=101.0)
    assert values(restored, b)[("queue_us_per_request", "")] == 200.0


def test_it_drops_failure_series_that_outlive_an_unloaded_model() -> None:
    # What Triton 2.51 exports after `fast` is unloaded: only its failure counters remain.
    leftover = (
        "# TYPE nv_inference_request_failure counter\n"
        'nv_inference_request_failure{model="m",reason="BACKEND",version="1"} 0\n'
    )
    a = parse(leftover, at=100.0)
    b = parse(leftover, at=101.0)
    assert derive(a, b) == []
