"""A counter that drops to a negative value never gives a negative (or made-up) rate."""

from itertools import pairwise

from fleet.derive import Snapshot, derive, parse


def exposition(success: float) -> str:
    return f"""# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="m",version="1"}} {success}
# TYPE nv_inference_count counter
nv_inference_count{{model="m",version="1"}} {success}
"""


def rates(previous: Snapshot, current: Snapshot) -> dict[str, float]:
    return {d.metric: d.value for d in derive(previous, current)}


def test_it_leaves_a_negative_counter_out_and_rates_resume_after() -> None:
    snaps = [parse(exposition(v), at=100.0 + i) for i, v in enumerate((10, -5, 20, 30))]
    windows = [rates(a, b) for a, b in pairwise(snaps)]
    assert windows[0] == {}  # into the negative value: no rate
    assert windows[1] == {}  # out of it: no baseline, as after a restart
    assert windows[2] == {"requests_per_s": 10.0, "inferences_per_s": 10.0}
    assert snaps[1].dropped == 2 and not snaps[1].counters


def test_it_gives_no_rate_from_a_negative_baseline() -> None:
    # A baseline from before this rule, or from elsewhere, with a negative counter.
    key = ("nv_inference_request_success", "m", "1", "")
    baseline = Snapshot(at=100.0, counters={key: -5.0})
    assert "requests_per_s" not in rates(baseline, parse(exposition(20), at=101.0))
