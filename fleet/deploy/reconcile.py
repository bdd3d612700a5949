"""Desired against actual, on every server each deployment selects.

"Actual" is what scraping already holds (ModelVersion rows: the repository index), so a
pass makes no Triton call per model. Each (deployment, server) ends the pass in one state:

- `in_sync`: the index shows exactly the desired versions READY (any one for "latest"), and
  the config the inventory last read carries the desired version policy and every key the
  deployment's config overrides set (only those keys are compared);
- `converging`: a load is under way (the reconciler's, a rollout's, or anyone's);
- `drift`: something differs and nothing is under way (paused, read-only, waiting for the
  server's other load, or the server is down); `detail` says what differs and why;
- `failed`: the reconciler's last load failed; `error` is Triton's, and the next try waits
  for an exponential backoff (FLEET_DEPLOY_RECONCILE_INTERVAL doubling, at most
  FLEET_DEPLOY_BACKOFF_MAX), never a hot loop.

A policy or override that the live config no longer carries (someone reloaded the model on
Triton with another config) is drift as well, with the keys that differ in `detail`; the
inventory rereads the configs of deployed models on its own cadence (fleet.services), so a
pass still reads only the database.

Drift is repaired by one load action per model, requested by the system user "reconciler"
through the one control path (fleet.control.requests), run by fleet.control.converge. At
most one load is under way per server: a server with any load, promotion or rollback queued
or running gets no other from the reconciler.

Besides beat, a pass runs for one deployment when it changes, and for the deployments of a
server whose scrape succeeds after it was down or unknown (`server_appeared`: a restarted
Triton in explicit mode has lost its models, and its inventory is read at once for it).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from .. import services
from ..control import overrides
from ..control.errors import ActionError, ActionInProgress
from ..control.requests import request_action
from ..models import Action, Deployment, DeploymentTarget, ModelConfig, ModelVersion, Rollout, Server
from . import record, selector, spec

log = logging.getLogger(__name__)

RECONCILER = "reconciler"  # the system user every reconcile decision is requested by
_LOADS = (Action.Kind.LOAD, Action.Kind.PROMOTE, Action.Kind.ROLLBACK)
State = DeploymentTarget.State


def reconciler_user() -> Any:
    """The system user that requests the reconciler's actions; it cannot sign in."""
    user, created = get_user_model().objects.get_or_create(username=RECONCILER, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def backoff_s(failures: int) -> float:
    base = settings.FLEET_DEPLOY_RECONCILE_INTERVAL
    return float(min(base * 2 ** max(failures - 1, 0), settings.FLEET_DEPLOY_BACKOFF_MAX))


class _Inventory:
    """One read of what the pass needs: READY versions, active actions, targets."""

    def __init__(self, deployments: list[Deployment]) -> None:
        names = {d.model for d in deployments}
        # Targets and their actions first: an action that ended refreshed the inventory
        # before it ended, so the READY rows read after it are at least as new.
        self.targets = {
            (t.deployment_id, t.server_id): t
            for t in DeploymentTarget.objects.filter(deployment__in=deployments).select_related("action")
        }
        self.servers = list(Server.objects.all())
        self.ready: dict[tuple[int, str], list[str]] = defaultdict(list)
        rows = ModelVersion.objects.filter(name__in=names, state=ModelVersion.State.READY)
        for server_id, name, version in rows.values_list("server_id", "name", "version"):
            self.ready[(server_id, name)].append(version)
        # The loaded config's version policy, as the inventory last read it (only that key).
        configs = ModelConfig.objects.filter(name__in=names).values_list(
            "server_id", "name", "config__version_policy"
        )
        self.policy = {(server_id, name): policy for server_id, name, policy in configs}
        # Where a deployment overrides some of the config, the top-level keys its override
        # sets, not whole configs (most of a config is Triton's defaults, and decoding it
        # was most of such a pass's CPU). A key unset and a key set to null compare alike.
        overridden = {d.model for d in deployments if d.config}
        keys = sorted({key for d in deployments if d.config for key in d.config})
        self.configs: dict[tuple[int, str], dict[str, Any]] = {}
        if overridden:
            parts = {f"k{i}": KeyTransform(key, "config") for i, key in enumerate(keys)}
            stored = ModelConfig.objects.filter(name__in=overridden).annotate(**parts)
            for server_id, name, *values in stored.values_list("server_id", "name", *parts):
                found = zip(keys, values, strict=True)
                self.configs[(server_id, name)] = {k: v for k, v in found if v is not None}
        active = Action.objects.filter(state__in=Action.ACTIVE_STATES, kind__in=_LOADS)
        self.loading: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for action_id, server_id, name in active.values_list("id", "server_id", "model"):
            self.loading[server_id].append((action_id, name))
        self.of_deployment: dict[int, list[DeploymentTarget]] = defaultdict(list)
        for target in self.targets.values():
            self.of_deployment[target.deployment_id].append(target)
        self.rollouts = dict(
            Rollout.objects.filter(state__in=Rollout.ACTIVE_STATES).values_list("deployment_id", "id")
        )

    def actual(self, server_id: int, name: str) -> list[str]:
        return sorted(self.ready.get((server_id, name), []), key=lambda v: (len(v), v))

    def config_drift(self, server_id: int, deployment: Deployment) -> list[str]:
        """What the last-read config lacks of the deployment's policy and overrides ([] when
        no config of it was read on this server yet)."""
        key = (server_id, deployment.model)
        if key not in self.policy:
            return []
        live = {"version_policy": self.policy[key]} if self.policy[key] else {}
        if deployment.config:
            live.update(self.configs.get(key, {}))
        return overrides.config_drift(live, spec.policy(deployment.versions), deployment.config or {})


def reconcile_all(now: datetime | None = None) -> int:
    """One pass over every deployment; returns how many loads it requested."""
    deployments = list(Deployment.objects.all())
    return _pass(deployments, now or timezone.now())


def reconcile_one(deployment_id: int) -> int:
    deployments = list(Deployment.objects.filter(id=deployment_id))
    return _pass(deployments, timezone.now()) if deployments else 0


def server_appeared(server_id: int) -> int:
    """A server came up (new, or back after a failed scrape: a restart in explicit mode loses
    every model it loaded): read its inventory now, not at the next FLEET_INVENTORY_INTERVAL,
    and reconcile the deployments that select it."""
    server = Server.objects.filter(id=server_id).first()
    if server is None:
        return 0
    deployments = [
        d for d in Deployment.objects.all() if server_id in {s.id for s in selector.servers_of(d, [server])}
    ]
    if not deployments:
        return 0
    services.refresh_inventory(server)
    return _pass(deployments, timezone.now())


def _pass(deployments: list[Deployment], now: datetime) -> int:
    inventory = _Inventory(deployments)
    bot: Any = None
    requested = 0
    dirty: list[DeploymentTarget] = []  # written once the pass has decided every target
    changed: list[int] = []  # the deployments whose page shows something new
    try:
        for deployment in deployments:
            servers = selector.servers_of(deployment, inventory.servers)
            chosen = {s.id for s in servers}
            gone = [t.id for t in inventory.of_deployment.get(deployment.id, []) if t.server_id not in chosen]
            shown = bool(gone)
            if gone:
                DeploymentTarget.objects.filter(id__in=gone).delete()
            for server in servers:
                target = inventory.targets.get((deployment.id, server.id))
                if target is None:
                    target = DeploymentTarget(deployment=deployment, server=server)
                before = None if target.pk is None else _fields(target)
                if _needs_load(deployment, server, target, inventory, now):
                    bot = bot or reconciler_user()
                    requested += _request(deployment, server, target, inventory, bot)
                after = _fields(target)
                if before != after:  # a pass over a fleet in sync writes nothing
                    dirty.append(target)
                    shown = shown or before is None or before[:4] != after[:4]
            if shown:
                changed.append(deployment.id)
    finally:
        # Also when a request failed midway: what was decided (an action requested) is kept.
        _write(dirty)
        record.publish_deployments(changed)
    return requested


def _write(targets: list[DeploymentTarget]) -> None:
    """New targets in one insert; changed ones in one UPDATE per distinct set of values
    (most drifting targets of a deployment share theirs), not one per target."""
    same: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for target in targets:
        if target.pk is not None:
            same[_fields(target)].append(target.pk)
    DeploymentTarget.objects.bulk_create([t for t in targets if t.pk is None])
    checked_at = timezone.now()
    for values, ids in same.items():
        fields = dict(zip(_FIELDS, values, strict=True))
        fields["actual_versions"] = list(fields["actual_versions"])
        DeploymentTarget.objects.filter(id__in=ids).update(**fields, checked_at=checked_at)


_FIELDS = ("state", "detail", "actual_versions", "error", "action_id", "failures", "retry_at")


def _fields(target: DeploymentTarget) -> tuple[Any, ...]:
    return (
        target.state,
        target.detail,
        tuple(target.actual_versions),
        target.error,
        target.action_id,
        target.failures,
        target.retry_at,
    )


def _needs_load(
    deployment: Deployment, server: Server, target: DeploymentTarget, inventory: _Inventory, now: datetime
) -> bool:
    """Set the target's state from what is known; True when a load should be requested."""
    actual = inventory.actual(server.id, deployment.model)
    want = spec.expected(deployment.versions)
    target.actual_versions = actual
    differs = inventory.config_drift(server.id, deployment) if actual else []
    in_sync = bool(actual) and (not want or actual == want) and not differs
    described = "; ".join([f"desired {want or 'latest'}, READY {actual or 'none'}", *differs])
    ours = target.action
    if ours is not None and not ours.active:
        if ours.state == Action.State.FAILED or not in_sync:
            # A load that succeeded and left the drift as it was counts as a failure too:
            # never a loop of loads that change nothing.
            target.failures += 1
            target.error = ours.error or f"load #{ours.id} succeeded, but {described}"
            target.retry_at = now + timedelta(seconds=backoff_s(target.failures))
        target.action = None
    busy = [(a, n) for a, n in inventory.loading.get(server.id, []) if n == deployment.model]
    if in_sync and not busy:  # a load still under way (the old version unloading) converges
        target.state, target.error, target.failures, target.retry_at = State.IN_SYNC, "", 0, None
        target.detail = ""
        return False
    if deployment.id in inventory.rollouts:
        target.state, target.detail = (
            State.CONVERGING,
            f"{described}; rollout #{inventory.rollouts[deployment.id]}",
        )
        return False
    if busy:
        target.state, target.detail = State.CONVERGING, f"{described}; action #{busy[0][0]} under way"
        return False
    if server.status == Server.Status.DOWN:
        target.state, target.detail = State.DRIFT, f"{described}; the server is down"
        return False
    if deployment.paused:
        target.state, target.detail = State.DRIFT, f"{described}; paused"
        return False
    if settings.FLEET_READ_ONLY:
        target.state, target.detail = State.DRIFT, f"{described}; read-only (FLEET_READ_ONLY)"
        return False
    if target.retry_at is not None and target.retry_at > now:
        wait = (target.retry_at - now).total_seconds()
        target.state = State.FAILED
        target.detail = f"{described}; {target.failures} failed loads, next try in {wait:.0f} s"
        return False
    if inventory.loading.get(server.id):
        other = inventory.loading[server.id][0]
        target.state, target.detail = State.DRIFT, f"{described}; waiting for action #{other[0]} ({other[1]})"
        return False
    target.state, target.detail = State.DRIFT, described
    return True


def _request(
    deployment: Deployment, server: Server, target: DeploymentTarget, inventory: _Inventory, bot: Any
) -> int:
    want = spec.expected(deployment.versions)
    extra = {
        "version_policy": spec.policy(deployment.versions),
        "versions": want,
        "config_overrides": deployment.config or {},
        "deployment": deployment.id,
        "reason": f"deployment {deployment.name}: {target.detail}",
    }
    try:
        action = request_action(server, deployment.model, Action.Kind.LOAD, bot, extra=extra)
    except ActionInProgress as exc:
        target.state = State.CONVERGING
        target.detail += f"; action #{exc.action.id if exc.action else '?'} under way"
        return 0
    except ActionError as exc:
        target.failures += 1
        target.state, target.error = State.FAILED, str(exc)
        target.retry_at = timezone.now() + timedelta(seconds=backoff_s(target.failures))
        return 0
    inventory.loading[server.id].append((action.id, deployment.model))
    target.action = action
    target.state = State.CONVERGING
    target.detail += f"; action #{action.id} requested"
    log.info("reconcile: %s on %s: %s", deployment.name, server.name, target.detail)
    return 1
