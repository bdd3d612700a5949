"""An ensemble's pipeline: the DAG of its `ensemble_scheduling` steps, each step with its
live figures from what scraping already stored, and the step that costs the most time.

Nothing here calls Triton: the config is the one the inventory stored (ModelConfig), the
figures are the newest scrape's (fleet.overview.current), so a page polling this costs the
server nothing.
"""

from __future__ import annotations

from typing import Any, TypedDict

from ..models import ModelConfig, Server
from ..overview import current, weighted

# Per step: what the node shows. Request time per request is the sum of the queue and the
# three compute phases (Triton's request duration also holds the ensemble's hand-offs).
STEP_METRICS = (
    "inferences_per_s",
    "queue_us_per_request",
    "compute_input_us_per_request",
    "compute_infer_us_per_request",
    "compute_output_us_per_request",
    "pending_requests",
)
_COMPUTE = ("compute_input_us_per_request", "compute_infer_us_per_request", "compute_output_us_per_request")


class NotAnEnsemble(LookupError):
    """The model has no stored config, or its config has no ensemble_scheduling steps."""


class StepRecord(TypedDict):
    index: int
    model: str
    version: int  # -1: the newest READY version
    inputs: dict[str, str]  # the step model's input name -> the ensemble tensor it reads
    outputs: dict[str, str]  # the step model's output name -> the ensemble tensor it writes
    inferences_per_s: float | None
    queue_us: float | None  # per request
    compute_us: float | None  # per request: input + infer + output
    pending: float | None
    time_us: float | None  # queue + compute per request: what the step adds to a request
    bottleneck: bool


class EdgeRecord(TypedDict):
    source: str  # "input:<tensor>" or "step:<index>"
    target: str  # "step:<index>" or "output:<tensor>"
    tensor: str


class PipelineRecord(TypedDict):
    """The one wire format of a pipeline: the API's answer and the model page's seed."""

    server: int
    model: str
    inputs: list[str]
    outputs: list[str]
    steps: list[StepRecord]
    edges: list[EdgeRecord]
    bottleneck: int | None  # the index of the step that adds the most time per request
    at: float | None  # the scrape the figures come from (unix seconds)


def steps_of(config: dict[str, Any]) -> list[dict[str, Any]]:
    scheduling = config.get("ensemble_scheduling")
    steps = scheduling.get("step") if isinstance(scheduling, dict) else None
    if not isinstance(steps, list):
        return []
    return [s for s in steps if isinstance(s, dict) and isinstance(s.get("model_name"), str)]


def _names(tensors: Any) -> list[str]:
    if not isinstance(tensors, list):
        return []
    return [str(t["name"]) for t in tensors if isinstance(t, dict) and "name" in t]


def _map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def graph(config: dict[str, Any]) -> tuple[list[str], list[str], list[StepRecord], list[EdgeRecord]]:
    """Inputs, outputs, steps (without figures) and edges of an ensemble config."""
    inputs, outputs = _names(config.get("input")), _names(config.get("output"))
    steps: list[StepRecord] = []
    producer: dict[str, str] = {name: f"input:{name}" for name in inputs}
    for index, step in enumerate(steps_of(config)):
        record: StepRecord = {
            "index": index,
            "model": step["model_name"],
            "version": int(step.get("model_version", -1) or -1),
            "inputs": _map(step.get("input_map")),
            "outputs": _map(step.get("output_map")),
            "inferences_per_s": None,
            "queue_us": None,
            "compute_us": None,
            "pending": None,
            "time_us": None,
            "bottleneck": False,
        }
        steps.append(record)
        for tensor in record["outputs"].values():
            producer[tensor] = f"step:{index}"
    edges: list[EdgeRecord] = []
    for consumer in steps:
        for tensor in consumer["inputs"].values():
            if tensor in producer:
                edges.append(
                    {"source": producer[tensor], "target": f"step:{consumer['index']}", "tensor": tensor}
                )
    for name in outputs:
        if name in producer:
            edges.append({"source": producer[name], "target": f"output:{name}", "tensor": name})
    return inputs, outputs, steps, edges


def pipeline(server: Server, name: str) -> PipelineRecord:
    """The ensemble's DAG with each step's figures from the server's newest scrape."""
    stored = ModelConfig.objects.filter(server=server, name=name).first()
    if stored is None or not steps_of(stored.config):
        raise NotAnEnsemble(f"{name} on {server.name} is not an ensemble (or its config is not read yet)")
    inputs, outputs, steps, edges = graph(stored.config)
    names = sorted({s["model"] for s in steps})
    points = [p for p in current([server], (*STEP_METRICS, "requests_per_s")) if p.model in names]
    at = max((p.at.timestamp() for p in points), default=None)
    for step in steps:
        mine = [p for p in points if p.model == step["model"]]
        if not mine:
            continue
        figures = {metric: weighted(mine, metric, mine) for metric in STEP_METRICS}
        step["inferences_per_s"] = figures["inferences_per_s"]
        step["queue_us"] = figures["queue_us_per_request"]
        step["pending"] = figures["pending_requests"]
        parts = [v for m in _COMPUTE if (v := figures[m]) is not None]
        step["compute_us"] = sum(parts) if parts else None
        if step["queue_us"] is not None or parts:
            step["time_us"] = (step["queue_us"] or 0.0) + sum(parts)
    timed = [s for s in steps if s["time_us"] is not None]
    bottleneck = max(timed, key=lambda s: s["time_us"] or 0.0)["index"] if timed else None
    if bottleneck is not None:
        steps[bottleneck]["bottleneck"] = True
    return {
        "server": server.id,
        "model": name,
        "inputs": inputs,
        "outputs": outputs,
        "steps": steps,
        "edges": edges,
        "bottleneck": bottleneck,
        "at": at,
    }


def ensembles_using(server: Server, name: str) -> list[str]:
    """The ensembles on the server whose steps call the model (from stored configs)."""
    found = []
    for ensemble, config in ModelConfig.objects.filter(
        server=server, config__has_key="ensemble_scheduling"
    ).values_list("name", "config"):
        if isinstance(config, dict) and any(s["model_name"] == name for s in steps_of(config)):
            found.append(ensemble)
    return sorted(found)
