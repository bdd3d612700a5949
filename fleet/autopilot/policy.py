"""A server's autopilot policy: its one wire format, and the rules a change must pass.

Off by default: a server without a row has the default policy (disabled, no budget). The
budget is in the unit of the server's memory gauge (GPU bytes summed over its GPUs, or host
bytes on a CPU-only server): the sum of the measured footprints of its loaded models must
stay within it.
"""

from __future__ import annotations

from typing import Any, TypedDict

from ..control import footprint
from ..control.errors import InvalidRequest
from ..control.requests import is_plain_model_name
from ..models import AutopilotPolicy, Server


class PolicyRecord(TypedDict):
    """The one wire format of a policy: the API's GET and PUT answers, the server page's seed."""

    server: int
    enabled: bool
    memory_budget_bytes: int | None
    idle_unload_s: float | None
    pinned: list[str]
    dry_run: bool
    pinned_bytes: int  # the measured footprints of the pinned models (unknown ones count 0)


def of(server: Server) -> AutopilotPolicy:
    """The server's policy; the default (off) when it never had one."""
    found = AutopilotPolicy.objects.filter(server=server).first()
    return found if found is not None else AutopilotPolicy(server=server)


def pinned_bytes(server: Server, pinned: list[str], figures: dict[str, int] | None = None) -> int:
    sizes = footprint.figures(server) if figures is None else figures
    return sum(sizes.get(name, 0) for name in pinned)


def serialize(policy: AutopilotPolicy, figures: dict[str, int] | None = None) -> PolicyRecord:
    return {
        "server": policy.server_id,
        "enabled": policy.enabled,
        "memory_budget_bytes": policy.memory_budget_bytes,
        "idle_unload_s": policy.idle_unload_s,
        "pinned": list(policy.pinned),
        "dry_run": policy.dry_run,
        "pinned_bytes": pinned_bytes(policy.server, list(policy.pinned), figures),
    }


def update(server: Server, changes: dict[str, Any]) -> AutopilotPolicy:
    """Apply validated fields (enabled, memory_budget_bytes, idle_unload_s, pinned, dry_run).

    InvalidRequest when a pinned name is not plain, or when the budget is smaller than the
    pinned models' measured footprint: they could never all stay loaded.
    """
    policy = of(server)
    for key, value in changes.items():
        setattr(policy, key, value)
    pinned = list(dict.fromkeys(policy.pinned))
    bad = [name for name in pinned if not is_plain_model_name(name)]
    if bad:
        raise InvalidRequest(f"pinned: {bad[0]!r} is not a plain model name")
    policy.pinned = pinned
    figures = footprint.figures(server)
    total = pinned_bytes(server, pinned, figures)
    budget = policy.memory_budget_bytes
    if budget is not None and budget < total:
        parts = ", ".join(f"{name} {_gib(figures[name])}" for name in pinned if name in figures)
        raise InvalidRequest(
            f"memory_budget_bytes {budget} ({_gib(budget)}) is smaller than the pinned models' "
            f"footprint, {total} bytes ({_gib(total)}: {parts})"
        )
    policy.save()
    return policy


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"
