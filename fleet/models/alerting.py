"""On-call (issue 11): alert rules, alerts, webhooks and their deliveries.

A rule says what to watch (its kind, a threshold, a scope) and for how long the condition
must hold (`for_s`). Evaluation (fleet.alerting.evaluate) runs in the scrape and action
paths and keeps one open alert per (rule, target): the database decides, through a partial
unique constraint, as it does for actions.
"""

from __future__ import annotations

from django.db import models

from .core import Server, validate_http_url

__all__ = ["Alert", "AlertRule", "Webhook", "WebhookDelivery"]


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        QUEUE_TIME = "queue_time"  # queue µs per request of a model above threshold
        FAILURE_RATE = "failure_rate"  # failures/s of a model above threshold
        MODEL_NOT_READY = "model_not_ready"  # a model that was READY (or deployed) is not
        SERVER_DOWN = "server_down"  # the server is down
        LOAD_FAILED = "load_failed"  # a control action failed
        SCRAPE_ERRORS = "scrape_errors"  # the scrape answered but an inventory read failed

    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # queue_time: µs per request; failure_rate: failures/s; unused by the other kinds.
    threshold = models.FloatField(null=True, blank=True)
    for_s = models.FloatField(default=0.0, help_text="Seconds the condition must hold before firing.")
    # Scope: the whole fleet (nothing set), servers whose labels contain `selector`, or one
    # server (and, optionally, one model on it).
    selector = models.JSONField(default=dict, blank=True)
    server = models.ForeignKey(
        Server, on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    model = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    builtin = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"


class Alert(models.Model):
    """One incident of one rule on one target ("server_id/model" or "server_id")."""

    class State(models.TextChoices):
        PENDING = "pending"
        FIRING = "firing"
        RESOLVED = "resolved"

    OPEN_STATES = (State.PENDING, State.FIRING)

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20)
    server = models.ForeignKey(Server, on_delete=models.CASCADE, null=True, related_name="alerts")
    model = models.CharField(max_length=200, blank=True)
    target = models.CharField(max_length=260)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    value = models.FloatField(null=True, blank=True)
    cause = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(help_text="When the condition began to hold.")
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    silenced_until = models.DateTimeField(null=True, blank=True)
    silenced_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Someone is on it: shown on the alert; webhooks and the banner carry on as before.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "target"],
                condition=models.Q(state__in=["pending", "firing"]),
                name="one_open_alert_per_rule_target",
            )
        ]
        indexes = [
            models.Index(fields=["server", "state"], name="alert_server_state"),
            models.Index(fields=["state", "-started_at"], name="alert_state_started"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.target} {self.state}"


class Webhook(models.Model):
    class Format(models.TextChoices):
        ALERTMANAGER = "alertmanager"
        SLACK = "slack"
        JSON = "json"

    url = models.CharField(max_length=500, validators=[validate_http_url])
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.JSON)
    enabled = models.BooleanField(default=True)
    # Set when a delivery ran out of attempts; cleared by the next one that arrives.
    failing = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.format} {self.url}"


class WebhookDelivery(models.Model):
    """One alert change (firing or resolved) sent to one webhook, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10)  # firing | resolved
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
