"""The local Triton harness and demo traffic, against real tritonserver processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from fleet.demo import traffic
from fleet.demo.localfleet import (
    DEMO_MODELS_AT_START,
    DEMO_REPOSITORY,
    LocalFleet,
    TritonProcess,
    TritonStartError,
)
from fleet.demo.machine import REPO_ROOT
from tests.triton_fixtures import TritonFactory

SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+(\S+)$", re.MULTILINE)
LABEL = re.compile(r'(\w+)="([^"]*)"')


def metric(server: TritonProcess, name: str, model: str, **labels: str) -> float:
    """Sum of `name` samples for `model` (and any extra labels) on the server's /metrics.

    Parsed by hand: prometheus_client's parser renames counter samples to *_total.
    """
    text = requests.get(server.metrics_url, timeout=5).text
    wanted = {"model": model, **labels}
    total = 0.0
    for sample_name, label_text, value in SAMPLE.findall(text):
        sample_labels = dict(LABEL.findall(label_text))
        if sample_name == name and all(sample_labels.get(k) == v for k, v in wanted.items()):
            total += float(value)
    return total


def infer(server: TritonProcess, model: str, name: str, data: np.ndarray) -> np.ndarray:
    client = httpclient.InferenceServerClient(server.http_url.removeprefix("http://"))
    try:
        tensor = httpclient.InferInput(name, list(data.shape), "FP32")
        tensor.set_data_from_numpy(data)
        return client.infer(model, [tensor]).as_numpy("OUTPUT0")
    finally:
        client.close()


def live_group_members(pgid: int) -> list[int]:
    """Non-zombie processes in a process group (zombies hold no resources)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in {"Z", "X"}:
            members.append(int(stat.parent.name))
    return members


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_it_loads_the_start_models_and_leaves_longtail_unloaded(triton: TritonProcess) -> None:
    index = requests.post(f"{triton.http_url}/v2/repository/index", json={}, timeout=5).json()
    states = {row["name"]: row.get("state") for row in index}
    assert {m: states.get(m) for m in DEMO_MODELS_AT_START} == dict.fromkeys(DEMO_MODELS_AT_START, "READY")
    assert "longtail" in states
    assert states["longtail"] is None  # listed, never loaded: no version, no state
    assert triton.running


def test_it_serves_the_latest_version_of_versioned_and_the_pipeline(triton: TritonProcess) -> None:
    assert infer(triton, "versioned", "INPUT0", np.zeros(1, np.float32)).tolist() == [3]
    raw = np.array([[1, 2, 3]], np.float32)
    assert infer(triton, "fast", "INPUT0", raw).tolist() == [[2, 4, 6]]
    assert infer(triton, "pipeline", "RAW", raw).tolist() == [[4, 6, 8]]  # (RAW + 1) * 2


def test_it_comes_back_ready_on_the_same_port_after_kill_and_restart(triton_factory: TritonFactory) -> None:
    server = triton_factory(models=["fast"])
    port, old_pid = server.port, server.pid
    assert old_pid is not None

    server.kill()
    assert not server.running
    assert live_group_members(old_pid) == [], "kill() must take the backend stubs down too"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.http_url}/v2/health/ready", timeout=2)

    server.restart()
    server.wait_ready(timeout=30)
    assert (server.port, server.running) == (port, True)
    assert server.pid != old_pid
    assert infer(server, "fast", "INPUT0", np.ones((1, 2), np.float32)).tolist() == [[2, 2]]


def test_it_queues_concurrent_requests_on_slow_far_more_than_on_fast(triton: TritonProcess) -> None:
    before = {m: metric(triton, "nv_inference_queue_duration_us", m) for m in ("slow", "fast")}
    pending_seen: list[float] = []
    burst = threading.Thread(target=traffic.send_inferences, args=(triton.http_url, "slow", 16, 8))
    burst.start()
    while burst.is_alive():
        pending_seen.append(metric(triton, "nv_inference_pending_request_count", "slow"))
        time.sleep(0.02)
    burst.join()
    traffic.send_inferences(triton.http_url, "fast", 16, concurrency=8)

    per_request = {m: (metric(triton, "nv_inference_queue_duration_us", m) - before[m]) / 16 for m in before}
    # 8 callers on one 50 ms instance: most wait for several executions.
    assert per_request["slow"] > 50_000
    assert per_request["slow"] > 20 * per_request["fast"]
    assert max(pending_seen) >= 2


def test_it_counts_exactly_the_inferences_sent(triton: TritonProcess) -> None:
    names = ("nv_inference_request_success", "nv_inference_count")
    before = {(n, m): metric(triton, n, m) for n in names for m in ("fast", "pipeline", "preprocess")}
    traffic.send_inferences(triton.http_url, "fast", 37, concurrency=4)
    traffic.send_inferences(triton.http_url, "pipeline", 5)
    delta = {key: metric(triton, *key) - value for key, value in before.items()}
    for name in names:
        # The ensemble's steps count its requests too: fast gets 37 + 5.
        assert (delta[name, "fast"], delta[name, "pipeline"], delta[name, "preprocess"]) == (42, 5, 5)


def test_it_sends_varied_traffic_with_counted_failures(triton: TritonProcess) -> None:
    models = ("fast", "slow", "pipeline", "versioned")
    before = {m: metric(triton, "nv_inference_request_success", m) for m in models}
    failures_before = metric(triton, "nv_inference_request_failure", "versioned", reason="BACKEND")

    stats = traffic.run(
        [triton.http_url], duration=3, rate=40, failure_ratio=0.5, burst_every=(0.5, 1), seed=7
    )

    assert set(stats.succeeded) == set(models)
    assert stats.failed["versioned"] > 0
    for m in models:
        # >=: the ensemble's requests also count for fast.
        assert metric(triton, "nv_inference_request_success", m) - before[m] >= stats.succeeded[m] > 0
    # NaN fails inside `versioned`, so Triton counts it; fast's bad shapes (HTTP 400) it never counts.
    failures = metric(triton, "nv_inference_request_failure", "versioned", reason="BACKEND")
    assert failures - failures_before == stats.failed["versioned"]


def test_it_fails_only_the_poisoned_request_among_concurrent_ones(triton: TritonProcess) -> None:
    before = metric(triton, "nv_inference_request_failure", "versioned")
    with pytest.raises(InferenceServerException, match="NaN"):
        infer(triton, "versioned", "INPUT0", np.full(1, np.nan, np.float32))
    traffic.send_inferences(triton.http_url, "versioned", 20, concurrency=4)
    assert metric(triton, "nv_inference_request_failure", "versioned") - before == 1


def test_it_bounds_traffic_by_request_count_and_stop_event(triton: TritonProcess) -> None:
    stats = traffic.run([triton.http_url], duration=30, rate=50, max_requests=20, burst_every=(100, 100))
    assert sum(stats.sent.values()) == 20

    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    traffic.run([triton.http_url], duration=30, rate=20, stop=stop)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000", "http://triton.example.com:8000", "ftp://127.0.0.1"])
def test_it_refuses_to_send_traffic_anywhere_but_loopback(url: str) -> None:
    with pytest.raises(ValueError):
        traffic.run([url], duration=1)
    with pytest.raises(ValueError):
        traffic.send_inferences(url, "fast", 1)


def test_it_raises_with_the_log_tail_when_a_model_fails_to_load(
    triton_factory: TritonFactory, tmp_path: Path
) -> None:
    broken = tmp_path / "repo" / "broken"
    (broken / "1").mkdir(parents=True)
    config = (DEMO_REPOSITORY / "longtail" / "config.pbtxt").read_text()
    (broken / "config.pbtxt").write_text(config.replace('name: "longtail"', 'name: "broken"'))
    (broken / "1" / "model.py").write_text(
        "class TritonPythonModel:\n    def initialize(self, args):\n        raise RuntimeError('boom-42')\n"
    )
    server = triton_factory(tmp_path / "repo", ["broken"], wait=False)
    with pytest.raises(TritonStartError, match="boom-42"):
        server.wait_ready(timeout=30)
    assert not server.running


def test_it_starts_a_fleet_on_distinct_ports_and_stops_it(tmp_path: Path) -> None:
    with LocalFleet(2, models=["versioned"], log_dir=tmp_path) as fleet:
        assert [s.name for s in fleet] == ["triton-1", "triton-2"]
        assert len({s.port for s in fleet}) == 2
        for server in fleet:
            assert infer(server, "versioned", "INPUT0", np.zeros(1, np.float32)).tolist() == [3]
        pids = [s.pid for s in fleet]
    assert not any(s.running for s in fleet)
    assert all(live_group_members(pid) == [] for pid in pids if pid is not None)
    assert (tmp_path / "triton-1.log").exists()


def test_it_takes_the_server_down_when_the_parent_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from fleet.demo.localfleet import TritonProcess, DEMO_REPOSITORY
        server = TritonProcess(DEMO_REPOSITORY, models=["fast"], log_path=sys.argv[1])
        server.start()
        server.wait_ready()
        print(server.pid, server.shm_prefix, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "orphan.log")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid_text, shm_prefix = parent.stdout.readline().split()
        pid = int(pid_text)
        assert live_group_members(pid)
    finally:
        parent.kill()
        parent.wait()
    try:
        assert wait_until(lambda: live_group_members(pid) == [], timeout=15), (
            "tritonserver outlived its parent"
        )
    finally:
        # A SIGKILLed server leaves its python backend shared memory behind.
        for region in Path("/dev/shm").glob(f"{shm_prefix}*"):
            region.unlink(missing_ok=True)
        for member in live_group_members(pid):
            os.kill(member, signal.SIGKILL)


def test_it_stops_the_traffic_command_cleanly_on_sigterm(triton: TritonProcess) -> None:
    command = subprocess.Popen(
        [sys.executable, "manage.py", "traffic", "--url", triton.http_url, "--duration", "60"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        command.send_signal(signal.SIGTERM)
        out, err = command.communicate(timeout=15)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0, err
    assert "requests (" in out
