"""Inside a server (issue 14): batching readings and timed debug sessions."""

from __future__ import annotations

from django.db import models

from .core import Server

__all__: list[str] = ["BatchReading", "DebugSession"]


class BatchReading(models.Model):
    """One read of a model's statistics, summed over its versions: the batches Triton formed
    (executions per batch size), inferences, executions, requests and queue time, all
    cumulative since the model loaded. A window's figures are the delta of two readings."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="batch_readings")
    model = models.CharField(max_length=200)
    at = models.DateTimeField()
    totals = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["server", "model", "at"], name="batchreading_server_model_at")]

    def __str__(self) -> str:
        return f"{self.server_id}/{self.model} at {self.at:%H:%M:%S}"


class DebugSession(models.Model):
    """A timed debug session on one model: log verbosity raised and trace rate 1 until
    `ends_at`, then reverted to `previous` (by the scheduled task, the beat sweep, or on
    demand). The row is the record: who asked, what was changed, when and how it ended."""

    class State(models.TextChoices):
        ACTIVE = "active"
        REVERTED = "reverted"
        FAILED = "failed"  # the revert could not be applied (see revert_error)

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="debug_sessions")
    model = models.CharField(max_length=200)
    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="fleet_debug_sessions"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ends_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    # What was in force before ({"logging": {...}, "trace": {...}}) and what was set.
    previous = models.JSONField(default=dict)
    applied = models.JSONField(default=dict)
    notes = models.TextField(blank=True, help_text="What could not be changed (a missing extension).")
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.CharField(max_length=150, blank=True, help_text="a username, 'timer' or 'sweep'")
    revert_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "model"],
                condition=models.Q(state="active"),
                name="one_active_debug_session_per_model",
            )
        ]

    def __str__(self) -> str:
        return f"debug #{self.pk} {self.server_id}/{self.model} {self.state}"
