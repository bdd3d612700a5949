"""Each queue-time cause, from the figures FleetDeck has: the first that applies names the
alert, with the figures behind it. Pure: fleet.alerting.causes reads no database."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.alerting import saturation
from fleet.alerting.causes import ServerLoad, queue_cause
from fleet.alerting.saturation import ModelFigures

# As GET /v2/models/<name>/config answers (Triton fills in what config.pbtxt left out).
BATCHING = {
    "instance_group": [{"name": "m", "kind": "KIND_CPU", "count": 2, "gpus": []}],
    "dynamic_batching": {"max_queue_delay_microseconds": 5000},
}
LIMITED = {
    "instance_group": [{"kind": "KIND_GPU", "count": 1, "gpus": [0, 1], "rate_limiter": {"priority": 1}}]
}


def load(cpu: float | None = 0.2, gpus: dict[str, float] | None = None, actions: Any = ()) -> ServerLoad:
    return ServerLoad(cpu, gpus or {}, lambda: list(actions))


def cause(
    figures: ModelFigures, config: dict[str, Any], server: ServerLoad
) -> tuple[str, str, dict[str, Any]]:
    shape = saturation.shape(config)
    busy = saturation.busy_ratio(figures, shape, gpus=len(server.gpu_utilization))
    found = queue_cause("m", figures, busy, saturation.instances(shape, 0), shape, server)
    return found.code, found.text, found.detail


def test_it_names_a_saturated_model_with_its_busy_ratio() -> None:
    # Two instances, 1.9 s of compute per second: busy 0.95.
    figures: ModelFigures = {"compute_infer_us_per_s": 1.9e6, "queue_us_per_request": 250_000.0}
    code, text, detail = cause(figures, BATCHING, load())
    assert code == "saturated"
    assert text == "saturated: the model's 2 instances busy 0.95; add instances or a second server"
    assert (detail["busy"], detail["instances"]) == (0.95, 2)


def test_it_names_a_nearly_busy_model_saturated_when_requests_wait_longer_than_they_compute() -> None:
    # One instance: 0.81 s of compute per second (the backend's own time per request is
    # outside compute infer), requests waiting 150 ms for 50 ms of compute.
    one = {"instance_group": [{"kind": "KIND_CPU", "count": 1}]}
    figures: ModelFigures = {
        "compute_infer_us_per_s": 0.81e6,
        "compute_infer_us_per_request": 50_000.0,
        "queue_us_per_request": 150_000.0,
    }
    code, text, _ = cause(figures, one, load())
    assert (code, text) == (
        "saturated",
        "saturated: the model's 1 instance busy 0.81, requests waiting 150.0 ms for 50.0 ms of "
        "compute; add instances or a second server",
    )
    # Waiting less than they compute, or busy below 0.75: not saturated.
    assert cause({**figures, "queue_us_per_request": 40_000.0}, one, load())[0] == "unknown"
    assert cause({**figures, "compute_infer_us_per_s": 0.7e6}, one, load())[0] == "unknown"


def test_it_blames_the_batcher_when_queue_time_is_its_delay() -> None:
    figures: ModelFigures = {"compute_infer_us_per_s": 2e5, "queue_us_per_request": 4_800.0}
    code, text, detail = cause(figures, BATCHING, load())
    assert code == "batcher_delay", text
    assert "max_queue_delay_microseconds 5000" in text and detail["max_queue_delay_us"] == 5000.0


def test_it_blames_the_rate_limiter_when_requests_wait_on_idle_instances() -> None:
    figures: ModelFigures = {
        "compute_infer_us_per_s": 1e5,
        "queue_us_per_request": 90_000.0,
        "pending_requests": 40,
    }
    code, text, _ = cause(figures, LIMITED, load(gpus={"GPU-a": 0.3, "GPU-b": 0.2}))
    assert (code, text) == ("rate_limiter", "rate limiter: 40 requests pending while busy is 0.05")


def test_it_blames_a_load_in_progress_on_the_same_server() -> None:
    figures: ModelFigures = {"compute_infer_us_per_s": 5e5, "queue_us_per_request": 90_000.0}
    code, text, detail = cause(figures, BATCHING, load(actions=[(7, "load", "big-llm")]))
    assert code == "co_tenant_load"
    assert text == "co-tenant load: load big-llm (#7) in progress on the server"
    assert detail["actions_in_progress"] == [{"id": 7, "kind": "load", "model": "big-llm"}]


@pytest.mark.parametrize("cpu, gpus, named", [(0.97, {}, "CPU 0.97"), (0.5, {"GPU-a": 0.99}, "GPU-a 0.99")])
def test_it_blames_a_saturated_server(cpu: float, gpus: dict[str, float], named: str) -> None:
    figures: ModelFigures = {"compute_infer_us_per_s": 5e5, "queue_us_per_request": 90_000.0}
    code, text, _ = cause(figures, BATCHING, load(cpu=cpu, gpus=gpus))
    assert (code, text) == ("server_saturated", f"server saturated: {named}")


def test_it_says_when_it_knows_no_cause() -> None:
    figures: ModelFigures = {"compute_infer_us_per_s": 5e5, "queue_us_per_request": 90_000.0}
    assert cause(figures, BATCHING, load())[:2] == ("unknown", "no known cause (busy 0.25)")


def test_it_counts_a_batch_once_in_the_busy_ratio() -> None:
    # 100 requests/s in batches of 4 (25 executions/s), 20 ms each: Triton adds 20 ms per
    # request (2 s/s), the instance computes 0.5 s/s.
    figures: ModelFigures = {"compute_infer_us_per_s": 2e6, "requests_per_s": 100.0, "executions_per_s": 25.0}
    shape = saturation.shape({"instance_group": [{"kind": "KIND_CPU", "count": 1}]})
    assert saturation.busy_ratio(figures, shape, gpus=0) == pytest.approx(0.5)
