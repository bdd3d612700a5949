"""A Triton-shaped fleet, simulated: for benchmarks and scale tests only, never for correctness.

Each simulated server answers what FleetDeck reads from a Triton 2.51 server (see
fleet/demo/simulator_http.py for the HTTP side): the Prometheus exposition with Triton's
families, HELP/TYPE lines and labels; the repository index; statistics; configs; health;
load and unload. Correctness stays tested against real Triton (tests/triton_fixtures.py).

Every number follows from (seed, server, model, version), so a benchmark knows what FleetDeck
must store: counters advance at `profile(...)`'s rates from the moment a version was loaded
(`expected_rate` is its inferences/s), gauges wave around a fixed level. Servers, models and
versions are numbered like this: server s in 0..N-1, model k in 0..M-1 (named `model_name(k)`),
versions 1..V as in a Triton repository.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from typing import Any

TRITON_VERSION = "2.51.0"
EXTENSIONS = [
    "classification", "sequence", "model_repository", "model_repository(unload_dependents)",
    "schedule_policy", "model_configuration", "system_shared_memory", "cuda_shared_memory",
    "binary_tensor_data", "parameters", "statistics", "trace", "logging",
]  # fmt: skip
REASONS = ("REJECTED", "CANCELED", "BACKEND", "OTHER")
# How failures split over reasons (a queue that rejects is the common case).
REASON_SHARES = {"REJECTED": 0.5, "CANCELED": 0.15, "BACKEND": 0.3, "OTHER": 0.05}

# (family, short name in Profile.per_s) in Triton 2.51's order, with its HELP text.
COUNTERS = [
    ("nv_inference_request_success", "success", "Number of successful inference requests, all batch sizes"),
    ("nv_inference_request_failure", "failure", "Number of failed inference requests, all batch sizes"),
    ("nv_inference_count", "count", "Number of inferences performed (does not include cached requests)"),
    ("nv_inference_exec_count", "exec",
     "Number of model executions performed (does not include cached requests)"),
    ("nv_inference_request_duration_us", "request_us",
     "Cumulative inference request duration in microseconds (includes cached requests)"),
    ("nv_inference_queue_duration_us", "queue_us",
     "Cumulative inference queuing duration in microseconds (includes cached requests)"),
    ("nv_inference_compute_input_duration_us", "compute_input_us",
     "Cumulative compute input duration in microseconds (does not include cached requests)"),
    ("nv_inference_compute_infer_duration_us", "compute_infer_us",
     "Cumulative compute inference duration in microseconds (does not include cached requests)"),
    ("nv_inference_compute_output_duration_us", "compute_output_us",
     "Cumulative inference compute output duration in microseconds (does not include cached requests)"),
]  # fmt: skip
PENDING = (
    "nv_inference_pending_request_count",
    "Instantaneous number of pending requests awaiting execution per-model.",
)
SERVER_GAUGES = {
    "nv_pinned_memory_pool_total_bytes": "Pinned memory pool total memory size, in bytes",
    "nv_pinned_memory_pool_used_bytes": "Pinned memory pool used memory size, in bytes",
}
GPU_FAMILIES = [
    ("nv_gpu_utilization", "gauge", "GPU utilization rate [0.0 - 1.0)"),
    ("nv_gpu_memory_total_bytes", "gauge", "GPU total memory, in bytes"),
    ("nv_gpu_memory_used_bytes", "gauge", "GPU used memory, in bytes"),
    ("nv_gpu_power_usage", "gauge", "GPU power usage in watts"),
    ("nv_gpu_power_limit", "gauge", "GPU power management limit in watts"),
    ("nv_energy_consumption", "counter", "GPU energy consumption in joules since the Triton Server started"),
]
CPU_FAMILIES = {
    "nv_cpu_utilization": "CPU utilization rate [0.0 - 1.0]",
    "nv_cpu_memory_total_bytes": "CPU total memory (RAM), in bytes",
    "nv_cpu_memory_used_bytes": "CPU used memory (RAM), in bytes",
}
SERIES_PER_VERSION = len(COUNTERS) + len(REASONS)  # one failure series per reason, + pending
GPU_MEMORY_TOTAL = 85520809984  # an 80 GB H100, as DCGM reports it
GPU_POWER_LIMIT = 700.0

_FAMILIES = ["resnet50", "bert_base", "yolov8", "whisper_small", "clip_vit", "t5_small", "detr", "wav2vec"]
# backend: (platform, default_model_filename, reports memory_usage in statistics)
BACKENDS = {
    "onnxruntime": ("onnxruntime_onnx", "model.onnx", True),
    "tensorrt": ("tensorrt_plan", "model.plan", True),
    "pytorch": ("pytorch_libtorch", "model.pt", False),
    "python": ("", "model.py", False),
}


class SimError(Exception):
    """An answer Triton gives with an error status: {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SimOptionsError(ValueError):
    """Options out of range: `problems` holds (field, rule) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name} must be {rule}" for name, rule in problems))
        self.problems = problems


@dataclass(frozen=True)
class SimOptions:
    servers: int = 2
    models: int = 5
    versions: int = 1
    seed: int = 0
    fail_rate: float = 0.0  # fraction of requests that fail (nv_inference_request_failure)
    models_loaded: float = 1.0  # fraction of each repository loaded at start; the rest never was
    gpus: int = 1  # per server; 0 = a CPU-only server (no nv_gpu_*, no gpu_uuid labels)
    uptime_s: float = 86400.0  # versions loaded at start have served this long (realistic counters)
    load_s: float = 0.2  # simulated load time
    unload_s: float = 0.2  # UNLOADING lasts this long
    # Label explosion: these servers have `explode_models` models (all loaded) instead of `models`.
    explode_servers: tuple[int, ...] = ()
    explode_models: int = 2000

    def __post_init__(self) -> None:
        problems = [
            (name, rule)
            for name, ok, rule in [
                ("servers", self.servers >= 1, "at least 1"),
                ("models", self.models >= 1, "at least 1"),
                ("versions", self.versions >= 1, "at least 1"),
                ("gpus", 0 <= self.gpus <= 16, "in 0..16"),
                ("fail_rate", 0.0 <= self.fail_rate < 1.0, "in [0, 1)"),
                ("models_loaded", 0.0 <= self.models_loaded <= 1.0, "in [0, 1]"),
                ("uptime_s", self.uptime_s >= 0, "at least 0"),
                ("load_s", self.load_s >= 0, "at least 0"),
                ("unload_s", self.unload_s >= 0, "at least 0"),
                ("explode_models", self.explode_models >= 1, "at least 1"),
                (
                    "explode_servers",
                    all(0 <= s < self.servers for s in self.explode_servers),
                    f"server numbers in 0..{self.servers - 1}",
                ),
            ]
            if not ok
        ]
        if problems:
            raise SimOptionsError(problems)

    def models_on(self, server: int) -> int:
        return self.explode_models if server in self.explode_servers else self.models


def seeded_random(seed: int, *key: object) -> random.Random:
    # A str seed is hashed with SHA-512: the same on every run and platform.
    return random.Random(":".join(["fleetdeck-sim", str(seed), *map(str, key)]))


def model_name(model: int) -> str:
    return f"{_FAMILIES[model % len(_FAMILIES)]}_{model:03d}"


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, the same on every server of a fleet (as one model deployed widely)."""

    name: str
    backend: str
    max_batch_size: int
    gpu: bool  # KIND_GPU instances (one per GPU): its series carry gpu_uuid
    memory_bytes: int

    def config(self, versions: int, gpus: int) -> dict[str, Any]:
        """The repository's config, as GET /v2/models/{name}/config prints it (Triton 2.51)."""
        platform, filename, _ = BACKENDS[self.backend]
        io = {
            "data_type": "TYPE_FP32",
            "dims": [-1],
            "is_shape_tensor": False,
            "is_non_linear_format_io": False,
        }
        config: dict[str, Any] = {
            "name": self.name, "platform": platform, "backend": self.backend, "runtime": "",
            "version_policy": {"latest": {"num_versions": versions}},
            "max_batch_size": self.max_batch_size,
            "input": [{"name": "INPUT0", "format": "FORMAT_NONE", "allow_ragged_batch": False,
                       "optional": False, **io}],
            "output": [{"name": "OUTPUT0", "label_filename": "", **io}],
            "batch_input": [], "batch_output": [],
            "optimization": {"priority": "PRIORITY_DEFAULT", "input_pinned_memory": {"enable": True},
                             "output_pinned_memory": {"enable": True}, "gather_kernel_buffer_threshold": 0,
                             "eager_batching": False},
        }  # fmt: skip
        if self.max_batch_size > 0:
            config["dynamic_batching"] = {
                "preferred_batch_size": [self.max_batch_size], "max_queue_delay_microseconds": 500,
                "preserve_ordering": False, "priority_levels": 0, "default_priority_level": 0,
                "priority_queue_policy": {},
            }  # fmt: skip
        on_gpu = self.gpu and gpus > 0
        config["instance_group"] = [
            {"name": f"{self.name}_0", "kind": "KIND_GPU" if on_gpu else "KIND_CPU", "count": 1,
             "gpus": list(range(gpus)) if on_gpu else [], "secondary_devices": [], "profile": [],
             "passive": False, "host_policy": ""}
        ]  # fmt: skip
        config.update(default_model_filename=filename, cc_model_filenames={}, metric_tags={}, parameters={})
        config["model_warmup"] = []
        return config


def model_spec(model: int, seed: int = 0) -> ModelSpec:
    rng = seeded_random(seed, "model", model)
    backend = rng.choice(["onnxruntime", "onnxruntime", "tensorrt", "tensorrt", "pytorch", "python"])
    return ModelSpec(
        name=model_name(model),
        backend=backend,
        max_batch_size=rng.choice([0, 8, 16, 32, 64]),
        gpu=backend != "python",
        memory_bytes=rng.randrange(50, 4000) * 2**20,
    )


@dataclass(frozen=True)
class Profile:
    """What one model version does on one server, per second, while it is loaded."""

    per_s: dict[str, float]  # counter short name (COUNTERS) -> increase per second; no "failure"
    failures_per_s: dict[str, float]  # reason -> failures per second
    batch_size: int  # the batch the dynamic batcher forms
    pending: float  # mean of the pending-requests gauge

    @property
    def inferences_per_s(self) -> float:
        return self.per_s["count"]


def profile(server: int, model: int, version: int, seed: int = 0, fail_rate: float = 0.0) -> Profile:
    """The fixed rates of a version: about 1 in 10 is idle, the others serve 0.5..500 req/s."""
    rng = seeded_random(seed, "rates", server, model, version)
    spec = model_spec(model, seed)
    idle = rng.random() < 0.1
    requests = 0.0 if idle else round(min(500.0, max(0.5, rng.lognormvariate(math.log(20), 1.2))), 1)
    client_batch = rng.choice([1, 1, 1, 2, 4]) if spec.max_batch_size >= 4 else 1
    batch = client_batch * rng.choice([1, 2, 4]) if spec.max_batch_size else 1
    batch = min(batch, max(1, spec.max_batch_size))
    infer_us = rng.lognormvariate(math.log(2000), 0.8)
    queue_us = infer_us * rng.uniform(0.05, 0.6)
    input_us, output_us = infer_us * rng.uniform(0.01, 0.05), infer_us * rng.uniform(0.01, 0.05)
    per_request = {"queue_us": queue_us, "compute_input_us": input_us, "compute_infer_us": infer_us,
                   "compute_output_us": output_us}  # fmt: skip
    per_request["request_us"] = sum(per_request.values()) * 1.05
    inferences = requests * client_batch
    per_s = {"success": requests, "count": inferences, "exec": inferences / batch}
    per_s.update({short: requests * us for short, us in per_request.items()})
    failures = {r: requests * fail_rate * share for r, share in REASON_SHARES.items()}
    # Little's law: requests in flight = arrival rate x time in the server.
    return Profile(per_s, failures, batch, requests * per_request["request_us"] / 1e6)


def expected_rate(server: int, model: int, version: int, seed: int = 0) -> float:
    """Inferences/s that FleetDeck should store for this version while it is loaded."""
    return profile(server, model, version, seed).inferences_per_s


def gpu_uuid(seed: int, server: int, gpu: int) -> str:
    return "GPU-" + str(uuid.UUID(int=seeded_random(seed, "gpu", server, gpu).getrandbits(128), version=4))


def prom_number(value: float) -> str:
    # Like Triton (prometheus-cpp): whole numbers without a decimal point.
    return str(int(value)) if value == int(value) else repr(value)


def wave(t: float, period: float, phase: float) -> float:
    """0..1, slowly, so that gauges move on a chart."""
    return 0.5 + 0.5 * math.sin(2 * math.pi * t / period + phase)
