"""The deployments page and the rollout page. Their seeds are the API's wire formats
(fleet.deploy.record); static/dashboard/deployments.js and rollout.js draw them and keep
them live from ws/deployments/ and ws/rollouts/<id>/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from fleet import roles
from fleet.deploy import record, selector
from fleet.models import Deployment, Rollout, Server


@login_required
def deployments(request: HttpRequest) -> HttpResponse:
    page = {
        "ws": "/ws/deployments/",
        "deployments": [record.serialize(d) for d in Deployment.objects.all()],
        "rollouts": [
            record.serialize_rollout(r)
            for r in Rollout.objects.select_related("deployment", "requested_by")[:20]
        ],
    }
    return render(request, "dashboard/deployments.html", {"page": page})


@login_required
def rollout(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Rollout.objects.select_related("deployment", "requested_by"), pk=pk)
    names = dict(Server.objects.values_list("id", "name"))
    page = {
        "ws": f"/ws/rollouts/{found.id}/",
        "rollout": record.serialize_rollout(found),
        "server_names": {str(k): v for k, v in names.items()},
        "can_control": roles.is_operator(request.user),
    }
    return render(request, "dashboard/rollout.html", {"page": page, "rollout": found})


def of_model(server: Server, name: str) -> list[dict[str, Any]]:
    """The deployments of this model that select this server, for its model page, with
    this server's state and the rollout under way, if any."""
    found = []
    for deployment in Deployment.objects.filter(model=name):
        if server.id not in {s.id for s in selector.servers_of(deployment)}:
            continue
        data = record.serialize(deployment)
        here = next((s for s in data["servers"] if s["server_id"] == server.id), None)
        found.append({"deployment": data, "here": here})
    return found
