"""One simulated Triton server: its repository's state and its answers (no I/O here).

The HTTP side (fleet/demo/simulator_http.py) calls these from one event loop, so nothing
here locks. Answers copy Triton 2.51's shapes and error messages as a real server printed
them (explicit model control): a never-loaded model is `{"name"}` in the index; READY rows
carry no reason; unloading goes READY -> UNLOADING -> UNAVAILABLE "unloaded" and takes the
version's series with it, except its failure counters, which 2.51 keeps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .simulator import (
    BACKENDS,
    COUNTERS,
    CPU_FAMILIES,
    GPU_FAMILIES,
    GPU_MEMORY_TOTAL,
    GPU_POWER_LIMIT,
    PENDING,
    REASONS,
    SERVER_GAUGES,
    ModelSpec,
    Profile,
    SimError,
    SimOptions,
    gpu_uuid,
    model_spec,
    profile,
    prom_number,
    seeded_random,
    wave,
)

PINNED_POOL_BYTES = 268435456  # Triton's default --pinned-memory-pool-byte-size
CPU_MEMORY_TOTAL = 540431955968


@dataclass
class VersionState:
    state: str = ""  # "" = never loaded: the index has no row for it
    reason: str = ""
    loaded_at: float = 0.0
    # Triton 2.51 keeps a version's failure counters after unload (seen on a real server);
    # they continue from these values when it is loaded again.
    failures_kept: dict[str, int] | None = None

    @property
    def exported(self) -> bool:
        return self.state in ("READY", "UNLOADING")


@dataclass
class SimModel:
    number: int
    spec: ModelSpec
    repository_config: dict[str, Any]
    config: dict[str, Any]
    profiles: dict[int, Profile]
    versions: dict[int, VersionState] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def ready(self) -> list[int]:
        return [v for v, s in sorted(self.versions.items()) if s.state == "READY"]


def versions_for(policy: Any, available: list[int]) -> list[int]:
    """The versions a version_policy serves, as Triton reads it; ValueError if none or bad."""
    if not isinstance(policy, dict) or len(policy) != 1:
        raise ValueError("version_policy must have exactly one of latest, all, specific")
    ((kind, value),) = policy.items()
    value = value if isinstance(value, dict) else {}
    if kind == "all":
        chosen = list(available)
    elif kind == "latest":
        chosen = sorted(available)[-max(1, int(value.get("num_versions", 1))) :]
    elif kind == "specific":
        wanted = {int(x) for x in value.get("versions", [])}
        chosen = [v for v in available if v in wanted]
    else:
        raise ValueError(f"unknown version_policy {kind!r}")
    if not chosen:
        raise ValueError("no version is available")
    return chosen


class SimServer:
    """Server `number` of a simulated fleet."""

    def __init__(self, options: SimOptions, number: int, now: float) -> None:
        self.options = options
        self.number = number
        self.started_at = now
        self.loading = 0  # loads in progress: /v2/health/ready says no meanwhile
        self.gpus = [gpu_uuid(options.seed, number, g) for g in range(options.gpus)]
        count = options.models_on(number)
        exploded = number in options.explode_servers
        at_start = (
            range(count)
            if exploded
            else seeded_random(options.seed, "loaded", number).sample(
                range(count), round(count * options.models_loaded)
            )
        )
        self.models: dict[str, SimModel] = {}
        all_versions = list(range(1, options.versions + 1))
        for k in range(count):
            spec = model_spec(k, options.seed)
            config = spec.config(options.versions, options.gpus)
            model = SimModel(
                k, spec, config, config,
                {v: profile(number, k, v, options.seed, options.fail_rate) for v in all_versions},
            )  # fmt: skip
            self.models[spec.name] = model
        for k in at_start:
            model = self.models[model_spec(k, options.seed).name]
            for v in versions_for(model.config["version_policy"], all_versions):
                model.versions[v] = VersionState("READY", "", now - options.uptime_s)

    # ---- repository

    def model(self, name: str) -> SimModel | None:
        return self.models.get(name)

    def index(self, ready_only: bool = False) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for name in sorted(self.models):
            model = self.models[name]
            listed = [(v, s) for v, s in sorted(model.versions.items()) if s.state]
            if not listed and not ready_only:
                rows.append({"name": name})
            for v, s in listed:
                if ready_only and s.state != "READY":
                    continue
                row = {"name": name, "version": str(v), "state": s.state}
                if s.reason:
                    row["reason"] = s.reason
                rows.append(row)
        return rows

    def config(self, name: str, version: str | None = None) -> dict[str, Any]:
        model = self.models.get(name)
        if model is None or not model.ready() or (version and _int(version) not in model.ready()):
            raise SimError(404, f"Request for unknown model: '{name}' is not found")
        return model.config

    def begin_load(self, name: str, override: Any) -> tuple[SimModel, list[int], dict[str, Any]]:
        """Check a load request; mark new versions LOADING. Returns what finish_load needs."""
        model = self.models.get(name)
        failed = SimError(500, f"failed to load '{name}', failed to poll from model repository")
        if model is None:
            raise failed
        config = model.repository_config
        if override is not None:
            if not isinstance(override, dict):
                raise failed
            # A config parameter replaces config.pbtxt until the next load without one.
            config = {**model.repository_config, **override, "name": name}
        try:
            wanted = versions_for(config.get("version_policy"), sorted(model.profiles))
        except (ValueError, TypeError) as exc:
            raise SimError(400, f"failed to load '{name}', {exc}") from exc
        for v in wanted:
            state = model.versions.setdefault(v, VersionState())
            if state.state != "READY":
                state.state, state.reason = "LOADING", ""
        self.loading += 1
        return model, wanted, config

    def finish_load(
        self, model: SimModel, wanted: list[int], config: dict[str, Any], now: float
    ) -> list[int]:
        """Serve `wanted` (counters from 0) with `config`; returns the versions to unload."""
        self.loading -= 1
        model.config = config
        for v in wanted:
            state = model.versions[v]
            if state.exported:
                state.failures_kept = self._failures(model, v, now)
            state.state, state.reason, state.loaded_at = "READY", "", now
        return [v for v in model.ready() if v not in wanted]

    def begin_unload(self, name: str, versions: list[int] | None = None) -> list[int]:
        """Mark versions UNLOADING (all READY ones by default); unknown names are fine, as in Triton."""
        model = self.models.get(name)
        if model is None:
            return []
        chosen = model.ready() if versions is None else versions
        for v in chosen:
            model.versions[v].state = "UNLOADING"
        return chosen

    def finish_unload(self, name: str, versions: list[int], now: float) -> None:
        model = self.models[name]
        for v in versions:
            state = model.versions[v]
            if state.state == "UNLOADING":
                state.failures_kept = self._failures(model, v, now)
                state.state, state.reason = "UNAVAILABLE", "unloaded"

    # ---- statistics

    def statistics(self, now: float, name: str = "", version: str = "") -> dict[str, Any]:
        if not name:
            chosen = [(m, v) for _, m in sorted(self.models.items()) for v in m.ready()]
        else:
            model = self.models.get(name)
            if model is None or not model.ready():
                raise SimError(400, f"requested model '{name}' is not available")
            chosen = [(model, v) for v in model.ready() if not version or v == _int(version)]
            if not chosen:
                raise SimError(400, f"requested model version is not available for model '{name}'")
        return {"model_stats": [self._stats(m, v, now) for m, v in chosen]}

    def _stats(self, model: SimModel, version: int, now: float) -> dict[str, Any]:
        p, state = model.profiles[version], model.versions[version]
        seconds = now - state.loaded_at
        n = {short: int(rate * seconds) for short, rate in p.per_s.items()}
        requests = n["success"]
        failed = sum(int(r * seconds) for r in p.failures_per_s.values())
        per_request_ns = p.per_s["request_us"] / p.per_s["success"] * 1000 if requests else 0.0

        def pair(count: int, us: str | None = None) -> dict[str, int]:
            return {"count": count, "ns": n[us] * 1000 if us else 0}

        execs = n["exec"]
        batch = [
            {"batch_size": p.batch_size, **{k: {"count": execs, "ns": n[f"{k}_us"] * 1000} for k in
                                             ("compute_input", "compute_infer", "compute_output")}}
        ] if execs else []  # fmt: skip
        _, _, reports_memory = BACKENDS[model.spec.backend]
        kind = "GPU" if self.gpus and model.spec.gpu else "CPU"
        return {
            "name": model.name, "version": str(version),
            "last_inference": int(now * 1000) - 3 if requests else 0,
            "inference_count": n["count"], "execution_count": execs,
            "inference_stats": {
                "success": pair(requests, "request_us"),
                "fail": {"count": failed, "ns": int(failed * per_request_ns)},
                "queue": pair(requests, "queue_us"),
                "compute_input": pair(requests, "compute_input_us"),
                "compute_infer": pair(requests, "compute_infer_us"),
                "compute_output": pair(requests, "compute_output_us"),
                "cache_hit": pair(0), "cache_miss": pair(0),
            },
            "response_stats": {},
            "batch_stats": batch,
            "memory_usage": [{"type": kind, "id": 0, "byte_size": model.spec.memory_bytes}]
            if reports_memory else [],
        }  # fmt: skip

    # ---- metrics

    def _devices(self, model: SimModel) -> list[str]:
        """Label prefixes, one per device a version runs on (Triton: one series per GPU)."""
        if model.spec.gpu and self.gpus:
            return [f'gpu_uuid="{g}",' for g in self.gpus]
        return [""]

    def _failures(self, model: SimModel, version: int, now: float) -> dict[str, int]:
        state, p = model.versions[version], model.profiles[version]
        kept = state.failures_kept or {}
        seconds = now - state.loaded_at if state.exported else 0.0
        return {r: kept.get(r, 0) + int(p.failures_per_s[r] * seconds) for r in REASONS}

    def metrics_text(self, now: float) -> str:
        """The exposition, as Triton 2.51 prints it (families without series are left out)."""
        lines: dict[str, list[str]] = defaultdict(list)
        for name in sorted(self.models):
            model = self.models[name]
            for v, state in sorted(model.versions.items()):
                if state.exported or state.failures_kept is not None:
                    self._model_lines(model, v, state, now, lines)
        out: list[str] = []
        types = {family: "counter" for family, _, _ in COUNTERS}
        helps = {family: text for family, _, text in COUNTERS}
        types[PENDING[0]], helps[PENDING[0]] = "gauge", PENDING[1]
        for family in [*helps]:
            if lines[family]:
                out += [
                    f"# HELP {family} {helps[family]}",
                    f"# TYPE {family} {types[family]}",
                    *lines[family],
                ]
        for family, typ, text, samples in self._server_series(now):
            out += [f"# HELP {family} {text}", f"# TYPE {family} {typ}", *samples]
        return "\n".join(out) + "\n"

    def _model_lines(
        self, model: SimModel, v: int, state: VersionState, now: float, lines: dict[str, list[str]]
    ) -> None:
        p, devices = model.profiles[v], self._devices(model)
        share, seconds = 1.0 / len(devices), now - state.loaded_at
        kept = state.failures_kept or {}
        pending = p.pending * 2 * wave(now, 300.0, model.number)
        for device in devices:
            labels = f'{device}model="{model.name}",version="{v}"'
            for reason in REASONS:
                value = kept.get(reason, 0)
                if state.exported:
                    value += int(p.failures_per_s[reason] * share * seconds)
                lines["nv_inference_request_failure"].append(
                    f'nv_inference_request_failure{{{device}model="{model.name}",reason="{reason}",'
                    f'version="{v}"}} {value}'
                )
            if not state.exported:
                continue
            for family, short, _ in COUNTERS:
                if short != "failure":
                    lines[family].append(f"{family}{{{labels}}} {int(p.per_s[short] * share * seconds)}")
            lines[PENDING[0]].append(f"{PENDING[0]}{{{labels}}} {round(pending * share)}")

    def _server_series(self, now: float) -> Iterator[tuple[str, str, str, list[str]]]:
        for family, text in SERVER_GAUGES.items():
            used = family.endswith("used_bytes")
            yield family, "gauge", text, [f"{family} {0 if used else PINNED_POOL_BYTES}"]
        load = [
            m.profiles[v].per_s["compute_infer_us"] / 1e6 for m in self.models.values() for v in m.ready()
        ]
        busy = min(0.97, sum(load) / max(1, 4 * len(self.gpus)))
        uptime = now - self.started_at + self.options.uptime_s
        if self.gpus:
            memory = sum(m.spec.memory_bytes for m in self.models.values() if m.spec.gpu for _ in m.ready())
            for family, typ, text in GPU_FAMILIES:
                samples = []
                for i, gpu in enumerate(self.gpus):
                    util = round(busy * (0.8 + 0.4 * wave(now, 120.0, i)), 4)
                    power = round(70.0 + util * (GPU_POWER_LIMIT - 70.0) * 0.9, 3)
                    value = {
                        "nv_gpu_utilization": util,
                        "nv_gpu_memory_total_bytes": GPU_MEMORY_TOTAL,
                        "nv_gpu_memory_used_bytes": min(GPU_MEMORY_TOTAL, 2**30 + memory // len(self.gpus)),
                        "nv_gpu_power_usage": power,
                        "nv_gpu_power_limit": GPU_POWER_LIMIT,
                        "nv_energy_consumption": round(uptime * power, 3),
                    }[family]
                    samples.append(f'{family}{{gpu_uuid="{gpu}"}} {prom_number(value)}')
                yield family, typ, text, samples
        cpu = {
            "nv_cpu_utilization": round(0.05 + 0.5 * busy * wave(now, 90.0, self.number), 6),
            "nv_cpu_memory_total_bytes": CPU_MEMORY_TOTAL,
            "nv_cpu_memory_used_bytes": 8 * 2**30 + 2**20 * sum(len(m.ready()) for m in self.models.values()),
        }
        for family, text in CPU_FAMILIES.items():
            yield family, "gauge", text, [f"{family} {prom_number(cpu[family])}"]

    def series_count(self) -> int:
        """How many samples (series) the exposition has at start-up."""
        return sum(1 for line in self.metrics_text(self.started_at).splitlines() if not line.startswith("#"))


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None
