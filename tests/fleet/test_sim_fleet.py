"""The fleet simulator (benchmarks only) reads to FleetDeck like Triton 2.51 does.

A test of the simulator's fidelity to what FleetDeck reads, not of FleetDeck: the scrape
stores the rates the simulator promises, tritonclient accepts its repository answers, and its
shapes match a real tritonserver's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from prometheus_client.parser import text_string_to_metric_families

from fleet import services, storage, triton
from fleet.demo.localfleet import TritonProcess
from fleet.demo.machine import free_port_block
from fleet.demo.simulator import SimOptions, expected_rate, model_name, profile
from fleet.demo.simulator_http import SimFleet
from fleet.demo.simulator_server import SimServer
from fleet.demo.traffic import send_inferences
from fleet.models import ModelVersion, Server

pytestmark = pytest.mark.django_db

Register = Callable[[SimOptions], list[Server]]


@pytest.fixture
def simulated() -> Iterator[Register]:
    """Start a simulated fleet on free ports and register its servers as sim-<i>."""
    fleets: list[SimFleet] = []

    def start(options: SimOptions) -> list[Server]:
        fleet = SimFleet(options, free_port_block(options.servers))
        fleet.start()
        fleets.append(fleet)
        return [
            Server.objects.create(name=f"sim-{i}", url=fleet.url(i), metrics_url=fleet.metrics_url(i))
            for i in range(options.servers)
        ]

    yield start
    for fleet in fleets:
        fleet.stop()


def _samples(text: str) -> dict[tuple[str, str, str, str], float]:
    """(family, model, version, reason) -> value, summed over GPUs."""
    out: dict[tuple[str, str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = s.labels
            key = (family.name, labels.get("model", ""), labels.get("version", ""), labels.get("reason", ""))
            out[key] = out.get(key, 0.0) + s.value
    return out


def _rows(server: Server, name: str) -> dict[str, tuple[str, str]]:
    return {
        r.get("version", ""): (r.get("state", ""), r.get("reason", ""))
        for r in triton.repository_index(server)
        if r["name"] == name
    }


def _until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def test_it_stores_the_inference_rates_the_simulator_promises(simulated: Register) -> None:
    options = SimOptions(servers=2, models=4, versions=2, seed=11, fail_rate=0.01)
    servers = simulated(options)
    for server in servers:
        assert services.scrape_server(server.id) is True
    time.sleep(2.0)
    for server in servers:
        assert services.scrape_server(server.id) is True

    busy = 0
    for i, server in enumerate(servers):
        assert ModelVersion.objects.filter(server=server, state="READY").count() == 8
        for k in range(4):
            for version in (1, 2):
                points = storage.query(
                    storage.SeriesQuery(
                        server=server,
                        metric="inferences_per_s",
                        since=timedelta(minutes=5),
                        model=model_name(k),
                        version=str(version),
                    )
                )
                want = expected_rate(i, k, version, seed=11)
                assert len(points) == 1, (server.name, k, version, points)
                # Counters are whole numbers: up to one count per scrape off, over ~2 s.
                assert points[0][1] == pytest.approx(want, rel=0.02, abs=1.0), (server.name, k, version)
                busy += want > 0
    assert busy >= 12  # most versions serve traffic, so the comparison means something


def test_it_loads_unloads_and_reports_through_tritonclient(simulated: Register) -> None:
    options = SimOptions(
        servers=1, models=3, versions=2, seed=5, fail_rate=0.05, models_loaded=2 / 3, load_s=0.2, unload_s=0.3
    )
    (server,) = simulated(options)
    index = triton.repository_index(server)
    never = [row["name"] for row in index if set(row) == {"name"}]
    assert len(never) == 1 and len(index) == 1 + 2 * 2
    name = never[0]
    number = int(name.rsplit("_", 1)[1])

    took = triton.load_model(server, name)
    loaded_at = time.time()
    assert took >= 0.2
    assert _rows(server, name) == {"1": ("READY", ""), "2": ("READY", "")}
    # Loaded now: its counters start from 0.
    success = _samples(triton.fetch_metrics(server).text)[("nv_inference_request_success", name, "2", "")]
    rate = profile(0, number, 2, seed=5).per_s["success"]
    assert success <= rate * (time.time() - loaded_at + took) + 1

    config = triton.model_config(server, name)
    assert config["version_policy"] == {"latest": {"num_versions": 2}}
    assert {"max_batch_size", "instance_group", "backend"} <= set(config)
    promote = {**config, "version_policy": {"specific": {"versions": [2]}}}
    triton.load_model(server, name, promote)
    assert _until(lambda: _rows(server, name) == {"1": ("UNAVAILABLE", "unloaded"), "2": ("READY", "")})
    assert triton.model_config(server, name)["version_policy"] == {"specific": {"versions": [2]}}

    triton.unload_model(server, name)
    assert _rows(server, name) == {"1": ("UNAVAILABLE", "unloaded"), "2": ("UNLOADING", "")}
    assert _until(lambda: _rows(server, name)["2"] == ("UNAVAILABLE", "unloaded"))
    families = {(family, version) for family, model, version, _ in _samples(triton.fetch_metrics(server).text)
                if model == name}  # fmt: skip
    # As in Triton 2.51, the failure counters of an unloaded model stay; its other series go.
    assert families == {("nv_inference_request_failure", "1"), ("nv_inference_request_failure", "2")}
    with pytest.raises(triton.TritonError, match="is not found"):
        triton.model_config(server, name)

    stats = triton.model_statistics(server)
    assert len(stats) == 4
    assert all({"batch_stats", "last_inference", "inference_stats"} <= set(s) for s in stats)
    busy = next(s for s in stats if s["inference_count"] > 0)
    assert triton.last_inference_at(server, busy["name"]) == pytest.approx(time.time(), abs=5)
    with pytest.raises(triton.TritonError, match="failed to load 'nosuch'"):
        triton.load_model(server, "nosuch")
    assert requests.get(f"{server.url}/v2/health/ready", timeout=5).status_code == 200


def _shapes(text: str) -> tuple[set[str], dict[str, set[frozenset[str]]]]:
    """HELP/TYPE lines, and the label names each family's samples carry."""
    comments = {line for line in text.splitlines() if line.startswith("# ")}
    labels: dict[str, set[frozenset[str]]] = {}
    for family in text_string_to_metric_families(text):
        labels[family.name] = {frozenset(s.labels) for s in family.samples}
    return comments, labels


def _keys(value: Any) -> Any:
    """The key structure of a JSON value (first element of lists)."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return type(value).__name__


def test_it_answers_in_the_shapes_of_a_real_triton(triton: TritonProcess) -> None:
    send_inferences(triton.http_url, "fast", 4)
    real_metrics = requests.get(triton.metrics_url, timeout=5).text
    real_comments, real_labels = _shapes(real_metrics)
    # A CPU-only simulated server, like the real one here.
    with SimFleet(SimOptions(servers=1, models=8, gpus=0), free_port_block(1)) as fleet:
        url = fleet.url(0)
        sim_comments, sim_labels = _shapes(requests.get(fleet.metrics_url(0), timeout=5).text)
        assert sim_comments == real_comments
        assert sim_labels == {family: real_labels[family] for family in sim_labels}

        def both(method: str, path: str) -> tuple[requests.Response, requests.Response]:
            return (
                requests.request(method, triton.http_url + path, timeout=5),
                requests.request(method, url + path, timeout=5),
            )

        real, sim = both("GET", "/v2")
        assert sim.json() == real.json()
        for path in ["/v2/health/live", "/v2/health/ready"]:
            real, sim = both("GET", path)
            answer = (sim.status_code, sim.headers["Content-Type"])
            assert answer == (real.status_code, real.headers["Content-Type"])
        for path in ["/v2/models/nosuch/stats", "/v2/models/nosuch/config"]:
            real, sim = both("GET", path)
            assert (sim.status_code, sim.json()) == (real.status_code, real.json())
        real, sim = both("POST", "/v2/repository/models/nosuch/load")
        assert (sim.status_code, sim.json()) == (real.status_code, real.json())

        busy = model_name(next(k for k in range(8) if expected_rate(0, k, 1) > 0))
        real_stats = requests.get(f"{triton.http_url}/v2/models/fast/stats", timeout=5).json()
        sim_stats = requests.get(f"{url}/v2/models/{busy}/stats", timeout=5).json()
        real_entry, sim_entry = real_stats["model_stats"][0], sim_stats["model_stats"][0]
        assert _keys({**sim_entry, "memory_usage": []}) == _keys(real_entry)
        real_config = requests.get(f"{triton.http_url}/v2/models/fast/config", timeout=5).json()
        configs = [requests.get(f"{url}/v2/models/{model_name(k)}/config", timeout=5) for k in range(8)]
        batching = next(c.json() for c in configs if c.json()["max_batch_size"] > 0)
        assert set(batching) == set(real_config)
        real_index = requests.post(f"{triton.http_url}/v2/repository/index", timeout=5).json()
        sim_index = requests.post(f"{url}/v2/repository/index", timeout=5).json()
        assert {frozenset(r) for r in sim_index} <= {frozenset(r) for r in real_index} | {frozenset({"name"})}


def test_it_can_export_a_label_explosion_past_the_series_cap() -> None:
    options = SimOptions(servers=2, models=3, explode_servers=(1,), explode_models=2000)
    now = time.time()
    exploded, normal = SimServer(options, 1, now), SimServer(options, 0, now)
    assert exploded.series_count() > 20_000 > normal.series_count()
    assert len(_samples(exploded.metrics_text(now))) > 20_000


def test_it_refuses_bad_options_naming_them() -> None:
    with pytest.raises(CommandError, match="--servers must be at least 1; --fail-rate must be in"):
        call_command("sim_fleet", "--servers=0", "--fail-rate=2")
