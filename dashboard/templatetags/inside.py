"""Inside a server (issue 14): the model page's pipeline, batching and debug panels, and the
server page's internals panel. The figures come from the API (fleet.inside's records),
which the panels' scripts read; this only decides which panels a page has."""

from __future__ import annotations

from typing import Any

from django import template

from fleet.inside.pipeline import ensembles_using, steps_of
from fleet.models import DebugSession, ModelConfig, Server

register = template.Library()


@register.inclusion_tag("dashboard/_inside_model.html", takes_context=True)
def inside_model(context: dict[str, Any], server: Server, name: str) -> dict[str, Any]:
    stored = ModelConfig.objects.filter(server=server, name=name).first()
    config = stored.config if stored is not None else {}
    return {
        "server": server,
        "name": name,
        "ensemble": bool(steps_of(config)),
        "batches": int(config.get("max_batch_size") or 0) > 0 and not steps_of(config),
        "used_by": ensembles_using(server, name),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("dashboard/_internals.html")
def internals_panel(server: Server) -> dict[str, Any]:
    return {"server": server}


@register.inclusion_tag("dashboard/_debug_audit.html")
def debug_audit(filters: dict[str, str]) -> dict[str, Any]:
    """The audit page's record of debug sessions, filtered like its actions."""
    rows = DebugSession.objects.select_related("server", "requested_by")
    if filters.get("server", "").isdigit():
        rows = rows.filter(server_id=int(filters["server"]))
    if filters.get("model"):
        rows = rows.filter(model=filters["model"])
    if filters.get("user"):
        rows = rows.filter(requested_by__username=filters["user"])
    return {"sessions": rows[:200]}
