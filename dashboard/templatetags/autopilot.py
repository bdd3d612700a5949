"""The autopilot's panels: measured memory and cold-start time per model (server and model
pages), and later the budget bar and plan. Figures come from fleet; this only lays them out."""

from __future__ import annotations

from typing import Any

from django import template

from fleet.autopilot import budget, idle, policy
from fleet.control import footprint
from fleet.models import ModelVersion, Server

register = template.Library()


@register.inclusion_tag("dashboard/_footprints.html")
def footprints(server: Server, name: str | None = None) -> dict[str, Any]:
    """One row per model (or just `name`): measured memory, last load time, loaded or not."""
    memory = footprint.figures(server)
    load_s = footprint.load_seconds(server)
    versions = ModelVersion.objects.filter(server=server)
    if name is not None:
        versions = versions.filter(name=name)
    loaded: dict[str, bool] = {}
    for model, state in versions.values_list("name", "state"):
        loaded[model] = loaded.get(model, False) or state == ModelVersion.State.READY
    rows = [
        {"name": model, "memory": memory.get(model), "load_s": load_s.get(model), "loaded": ready}
        for model, ready in sorted(loaded.items())
    ]
    return {"rows": rows, "server": server, "single": name is not None}


@register.inclusion_tag("dashboard/_autopilot.html")
def autopilot_panel(server: Server) -> dict[str, Any]:
    """The budget bar (pinned, loaded, free) and the plan, when the autopilot is on."""
    rules = policy.of(server)
    if not rules.enabled:
        return {"enabled": False}
    held = [h for h in budget.holdings(server, rules) if not h.leaving]
    pinned = sum(h.bytes or 0 for h in held if h.pinned)
    loaded = sum(h.bytes or 0 for h in held if not h.pinned)
    limit = rules.memory_budget_bytes
    free = max(limit - pinned - loaded, 0) if limit else None

    def share(size: int) -> float:
        return round(100 * size / max(limit or 1, pinned + loaded, 1), 1)

    return {
        "enabled": True,
        "rules": rules,
        "budget": limit,
        "pinned": pinned,
        "loaded": loaded,
        "free": free,
        "shares": {"pinned": share(pinned), "loaded": share(loaded), "free": share(free or 0)},
        "unknown": [h.name for h in held if h.bytes is None],
        "plan": idle.plan(server, rules),
    }
