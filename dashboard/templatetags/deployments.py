"""Desired state on the fleet and server pages: which deployments select a server and in
which state, and the fleet's drift in one line. Figures come from the reconcile's rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import template

from fleet.models import DeploymentTarget, Rollout, Server

register = template.Library()


@register.inclusion_tag("dashboard/_server_deployments.html")
def server_deployments(server: Server) -> dict[str, Any]:
    targets = DeploymentTarget.objects.filter(server=server).select_related("deployment")
    rolling = dict(Rollout.objects.filter(state__in=Rollout.ACTIVE_STATES).values_list("deployment_id", "id"))
    rows = [{"target": t, "rollout": rolling.get(t.deployment_id)} for t in targets]
    return {"rows": sorted(rows, key=lambda r: r["target"].deployment.name)}


@register.inclusion_tag("dashboard/_fleet_deployments.html")
def fleet_deployments() -> dict[str, Any]:
    states = Counter(DeploymentTarget.objects.values_list("state", flat=True))
    return {"states": states, "total": sum(states.values())}
