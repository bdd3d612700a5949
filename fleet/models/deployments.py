"""Desired state (issue 9): deployments, their history, per-server reconcile state, rollouts."""

from __future__ import annotations

from django.db import models

from .core import Action, Server

__all__ = ["Deployment", "DeploymentChange", "DeploymentTarget", "Rollout"]


class Deployment(models.Model):
    """A model and where it should serve: servers chosen by a label selector, or listed.

    `versions` is a list of version numbers (Triton's `specific` policy) or "latest";
    `config` is merged into the live config when FleetDeck loads the model; `smoke` holds
    golden requests and `gates` the rollout's thresholds (fleet.deploy.spec fills defaults).
    """

    name = models.CharField(max_length=100, unique=True)
    model = models.CharField(max_length=200)
    selector = models.JSONField(default=dict, blank=True)
    server_ids = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=list)
    pinned = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)
    smoke = models.JSONField(default=dict, blank=True)
    gates = models.JSONField(default=dict, blank=True)
    # When the golden inputs were fitted to the model's config: at save ("fits"), or, when
    # no config could be had then, at the canary's smoke gate ("at_canary"); "" without any.
    smoke_check = models.CharField(max_length=20, blank=True, default="")
    paused = models.BooleanField(default=False, help_text="Reconcile leaves its servers alone.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeploymentChange(models.Model):
    """One change of a deployment (its creation and deletion too): the audit."""

    deployment = models.ForeignKey(
        Deployment, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    deployment_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20)  # created, changed, deleted, rolled_back
    changes = models.JSONField(default=dict)  # {field: [before, after]}
    changed_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]


class DeploymentTarget(models.Model):
    """What reconcile last found on one server a deployment selects."""

    class State(models.TextChoices):
        IN_SYNC = "in_sync"
        DRIFT = "drift"
        CONVERGING = "converging"
        FAILED = "failed"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="targets")
    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="deployment_targets")
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRIFT)
    detail = models.TextField(blank=True)
    actual_versions = models.JSONField(default=list)
    error = models.TextField(blank=True)
    # The reconciler's last action here; consecutive failures and when to try again.
    action = models.ForeignKey(Action, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(auto_now=True)  # when reconcile last changed this row

    class Meta:
        ordering = ["deployment", "server"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "server"], name="uniq_deployment_target")
        ]


class Rollout(models.Model):
    """A change of a deployment's versions, wave by wave; the state machine lives here
    (fleet.deploy.rollout) so that any worker can take it up after another one died."""

    class State(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"
        SUCCEEDED = "succeeded"
        ROLLED_BACK = "rolled_back"
        ABORTED = "aborted"
        FAILED = "failed"

    ACTIVE_STATES = (State.RUNNING, State.PAUSED)

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="rollouts")
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    from_versions = models.JSONField(default=list)
    to_versions = models.JSONField(default=list)
    # [{servers, state, actions: {server_id: action_id}, gates: [...], bake_until, baseline}]
    waves = models.JSONField(default=list)
    wave = models.PositiveIntegerField(default=0)  # the index of the wave under way
    # While rolling back: the state it ends in (rolled_back or aborted) and the actions.
    undo = models.JSONField(default=dict, blank=True)
    timeline = models.JSONField(default=list)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment"],
                condition=models.Q(state__in=["running", "paused"]),
                name="one_active_rollout_per_deployment",
            )
        ]

    def __str__(self) -> str:
        return f"rollout #{self.pk} of {self.deployment_id} {self.state}"
