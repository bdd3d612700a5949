"""The one wire format of a deployment and of a rollout (API answers, websocket frames,
page seeds), and their broadcasts: `fleet.deployment` to the deployments group,
`fleet.rollout` to the rollout's group."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypedDict

from ..broadcast import broadcast, send
from ..frames import iso
from ..models import Deployment, DeploymentChange, DeploymentTarget, Rollout
from . import spec

DEPLOYMENTS_GROUP = "deployments"


def rollout_group(rollout_id: int) -> str:
    return f"rollout-{rollout_id}"


class TargetRecord(TypedDict):
    server_id: int
    server_name: str
    state: str
    actual_versions: list[str]
    detail: str
    error: str


class DeploymentRecord(TypedDict):
    id: int
    name: str
    model: str
    selector: dict[str, Any]
    server_ids: list[int]
    versions: list[int] | str
    pinned: bool
    paused: bool
    config: dict[str, Any]
    smoke: dict[str, Any]
    smoke_check: str  # "fits" (at save), "at_canary" (no config then), "" (no golden requests)
    gates: dict[str, float]
    servers: list[TargetRecord]
    rollout: int | None  # the rollout under way, if any
    created_at: str | None
    updated_at: str | None


class RolloutRecord(TypedDict):
    id: int
    deployment: int
    deployment_name: str
    model: str
    state: str
    from_versions: list[int] | str
    to_versions: list[int] | str
    wave: int
    waves: list[dict[str, Any]]
    rolling_back: bool
    timeline: list[dict[str, Any]]
    error: str
    requested_by: str | None
    created_at: str | None
    ended_at: str | None


def target_record(target: DeploymentTarget) -> TargetRecord:
    return {
        "server_id": target.server_id,
        "server_name": target.server.name,
        "state": target.state,
        "actual_versions": list(target.actual_versions),
        "detail": target.detail,
        "error": target.error,
    }


def serialize(deployment: Deployment) -> DeploymentRecord:
    return serialize_many([deployment])[0]


def serialize_many(deployments: list[Deployment]) -> list[DeploymentRecord]:
    """The records of several deployments from one read of their targets and rollouts."""
    ids = [d.id for d in deployments]
    targets: dict[int, list[DeploymentTarget]] = defaultdict(list)
    for target in DeploymentTarget.objects.filter(deployment_id__in=ids).select_related("server"):
        targets[target.deployment_id].append(target)
    active: dict[int, int] = {}
    rows = Rollout.objects.filter(deployment_id__in=ids, state__in=Rollout.ACTIVE_STATES)
    for deployment_id, rollout_id in rows.values_list("deployment_id", "id"):  # newest first
        active.setdefault(deployment_id, rollout_id)
    return [_record(d, targets[d.id], active.get(d.id)) for d in deployments]


def _record(deployment: Deployment, targets: list[DeploymentTarget], active: int | None) -> DeploymentRecord:
    return {
        "id": deployment.id,
        "name": deployment.name,
        "model": deployment.model,
        "selector": deployment.selector,
        "server_ids": deployment.server_ids,
        "versions": deployment.versions,
        "pinned": deployment.pinned,
        "paused": deployment.paused,
        "config": deployment.config,
        "smoke": deployment.smoke,
        "smoke_check": deployment.smoke_check,
        "gates": spec.gates_of(deployment),
        "servers": [target_record(t) for t in sorted(targets, key=lambda t: t.server.name)],
        "rollout": active,
        "created_at": iso(deployment.created_at),
        "updated_at": iso(deployment.updated_at),
    }


def history(deployment: Deployment, limit: int = 50) -> list[dict[str, Any]]:
    rows = DeploymentChange.objects.filter(deployment=deployment).select_related("changed_by")[:limit]
    return [
        {
            "at": iso(c.at),
            "kind": c.kind,
            "changes": c.changes,
            "changed_by": c.changed_by.username if c.changed_by else None,
        }
        for c in rows
    ]


def serialize_rollout(rollout: Rollout) -> RolloutRecord:
    deployment = rollout.deployment
    return {
        "id": rollout.id,
        "deployment": deployment.id,
        "deployment_name": deployment.name,
        "model": deployment.model,
        "state": rollout.state,
        "from_versions": rollout.from_versions,
        "to_versions": rollout.to_versions,
        "wave": rollout.wave,
        "waves": rollout.waves,
        "rolling_back": bool(rollout.undo),
        "timeline": rollout.timeline,
        "error": rollout.error,
        "requested_by": rollout.requested_by.username if rollout.requested_by else None,
        "created_at": iso(rollout.created_at),
        "ended_at": iso(rollout.ended_at),
    }


def publish_deployment(deployment_id: int) -> None:
    publish_deployments([deployment_id])


def publish_deployments(deployment_ids: list[int]) -> None:
    """One frame per deployment, in the order given, from one read and one send."""
    found = {d.id: d for d in Deployment.objects.filter(id__in=deployment_ids)}
    deployments = [found[i] for i in deployment_ids if i in found]
    if deployments:
        send([(DEPLOYMENTS_GROUP, "fleet.deployment", dict(r)) for r in serialize_many(deployments)])


def publish_rollout(rollout_id: int) -> None:
    rollout = Rollout.objects.select_related("deployment", "requested_by").filter(id=rollout_id).first()
    if rollout is not None:
        broadcast([rollout_group(rollout_id)], "fleet.rollout", dict(serialize_rollout(rollout)))
