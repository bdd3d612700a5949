"""Why a model's queue time rose, from what the scrape just derived and what FleetDeck
knows of the model's config and the server. Pure: no queries, no I/O.

In order, the first that applies names the cause:
- saturated: the model's instances are busy ≥ 0.9 of the time; or ≥ 0.75 while requests
  wait in the queue longer than they compute (busy counts compute infer only: the backend's
  own time per request, outside it, kept a saturated python model on a loaded 2-core
  machine at 0.81, its queue growing);
- batcher delay: queue time close to the batcher's max_queue_delay_microseconds while busy
  is low (the batcher waits on purpose);
- rate limiter: requests pending while busy is low and the config has a rate limiter;
- co-tenant load: a load or unload in progress on the same server;
- server saturated: the server's CPU or a GPU at ≥ 0.95.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .saturation import ModelFigures, Shape

SATURATED = 0.9
NEARLY_SATURATED = 0.75  # saturated too when requests wait longer than they compute
LOW_BUSY = 0.5
SERVER_SATURATED = 0.95


@dataclass
class ServerLoad:
    cpu_utilization: float | None
    gpu_utilization: dict[str, float]
    # Loads and unloads in progress on the server: (action id, kind, model). Asked only
    # when the causes before co-tenant load do not apply (a query, on the scrape path).
    in_progress: Callable[[], Sequence[tuple[int, str, str]]]

    @cached_property
    def actions(self) -> Sequence[tuple[int, str, str]]:
        return self.in_progress()


@dataclass(frozen=True)
class Cause:
    code: str  # saturated | batcher_delay | rate_limiter | co_tenant_load | server_saturated | unknown
    text: str
    detail: dict[str, Any]


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def queue_cause(
    model: str,
    figures: ModelFigures,
    busy: float | None,
    instances: int | None,
    config: Shape | None,
    server: ServerLoad,
) -> Cause:
    queue_us = figures.get("queue_us_per_request")
    pending = figures.get("pending_requests")
    detail: dict[str, Any] = {
        "busy": _r(busy),
        "instances": instances,
        "queue_us_per_request": _r(queue_us, 1),
        "compute_infer_us_per_request": _r(figures.get("compute_infer_us_per_request"), 1),
        "requests_per_s": _r(figures.get("requests_per_s")),
        "pending_requests": pending,
        "max_queue_delay_us": config.max_queue_delay_us if config else None,
        "rate_limiter": config.rate_limited if config else None,
        "cpu_utilization": _r(server.cpu_utilization),
        "gpu_utilization": {k: _r(v) for k, v in server.gpu_utilization.items()},
    }
    plural = "instance" if instances == 1 else "instances"
    compute_us = figures.get("compute_infer_us_per_request")
    waits = ""  # said only below SATURATED, where it is what makes the model saturated
    if queue_us is not None and compute_us and queue_us >= compute_us:
        waits = f", requests waiting {queue_us / 1000:.1f} ms for {compute_us / 1000:.1f} ms of compute"
    if busy is not None and (busy >= SATURATED or (busy >= NEARLY_SATURATED and waits)):
        why = "" if busy >= SATURATED else waits
        advice = "add instances or a second server"
        text = f"saturated: the model's {instances} {plural} busy {busy:.2f}{why}; {advice}"
        return Cause("saturated", text, detail)
    low = busy is not None and busy < LOW_BUSY
    delay = config.max_queue_delay_us if config else None
    if low and delay and queue_us is not None and 0.5 * delay <= queue_us <= 1.5 * delay:
        text = (
            f"batcher delay: queue {queue_us / 1000:.1f} ms is close to the batcher's "
            f"max_queue_delay_microseconds {delay:.0f} while busy is {busy:.2f}"
        )
        return Cause("batcher_delay", text, detail)
    if low and config and config.rate_limited and pending:
        text = f"rate limiter: {pending:.0f} requests pending while busy is {busy:.2f}"
        return Cause("rate_limiter", text, detail)
    others = [a for a in server.actions if a[2] != model] or list(server.actions)
    detail["actions_in_progress"] = [{"id": i, "kind": k, "model": m} for i, k, m in server.actions]
    if others:
        what = ", ".join(f"{kind} {name} (#{i})" for i, kind, name in others[:3])
        return Cause("co_tenant_load", f"co-tenant load: {what} in progress on the server", detail)
    hot = {"CPU": server.cpu_utilization} | dict(server.gpu_utilization)
    saturated = {k: v for k, v in hot.items() if v is not None and v >= SERVER_SATURATED}
    if saturated:
        what = ", ".join(f"{k} {v:.2f}" for k, v in sorted(saturated.items()))
        return Cause("server_saturated", f"server saturated: {what}", detail)
    busy_text = "unknown" if busy is None else f"{busy:.2f}"
    return Cause("unknown", f"no known cause (busy {busy_text})", detail)
