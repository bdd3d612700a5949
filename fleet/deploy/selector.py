"""Which servers a deployment selects: by labels (every pair must match), or by id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..models import Deployment, Server


def matches(labels: Mapping[str, Any], selector: Mapping[str, Any]) -> bool:
    return all(str(labels.get(key)) == str(value) and key in labels for key, value in selector.items())


def select(
    selector: Mapping[str, Any], server_ids: Iterable[int], servers: Iterable[Server] | None = None
) -> list[Server]:
    """The servers chosen, in name order. Labels are filtered here rather than in SQL, the
    same on PostgreSQL and SQLite (the demo), and cheap at fleet size (one row per server)."""
    pool = list(servers) if servers is not None else list(Server.objects.all())
    ids = set(server_ids)
    if ids:
        chosen = [s for s in pool if s.id in ids]
    else:
        chosen = [s for s in pool if matches(s.labels or {}, selector)]
    return sorted(chosen, key=lambda s: s.name)


def servers_of(deployment: Deployment, servers: Iterable[Server] | None = None) -> list[Server]:
    return select(deployment.selector, deployment.server_ids, servers)


def pinned_models(server: Server) -> set[str]:
    """The models of pinned deployments that select this server: the autopilot never evicts
    or idle-unloads them (fleet.autopilot.budget)."""
    return _models_on(server, Deployment.objects.filter(pinned=True))


def overridden_models(server: Server) -> set[str]:
    """The models of deployments with config overrides that select this server: the
    inventory rereads their configs on its own cadence (fleet.services), so a reload on
    Triton with another config shows as drift."""
    deployments = Deployment.objects.only("model", "selector", "server_ids", "config")
    return _models_on(server, [d for d in deployments if d.config])


def _models_on(server: Server, deployments: Iterable[Deployment]) -> set[str]:
    return {d.model for d in deployments if server.id in {s.id for s in servers_of(d, [server])}}
