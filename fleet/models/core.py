"""The fleet's core tables: Triton servers, what they serve, the time series scraped from them,
and the control actions taken on them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import models


def validate_http_url(value: str) -> None:
    """Accept http(s) URLs with a host; hostnames without a dot (compose services) are fine."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError(f"not a valid URL: {exc}") from exc
    if parts.scheme not in {"http", "https"}:
        raise ValidationError("must start with http:// or https://")
    if not parts.hostname:
        raise ValidationError("must name a host")


def default_metrics_url(url: str) -> str:
    """Triton's metrics live on the same host, port 8002, path /metrics."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{host}:8002", "/metrics", "", ""))


class Server(models.Model):
    class Status(models.TextChoices):
        UNKNOWN = "unknown"
        UP = "up"
        DOWN = "down"

    class ReloadStrategy(models.TextChoices):
        IN_PLACE = "in_place", "Reload in place"
        UNLOAD_FIRST = "unload_first", "Unload then load"

    name = models.CharField(max_length=100, unique=True)
    url = models.CharField(max_length=500, validators=[validate_http_url])
    metrics_url = models.CharField(max_length=500, validators=[validate_http_url], blank=True)
    # For servers started with --http-restricted-api=...:<header>=<value>.
    auth_header_name = models.CharField(max_length=100, blank=True)
    auth_header_value = models.CharField(max_length=500, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    last_scrape_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    reload_strategy = models.CharField(
        max_length=20,
        choices=ReloadStrategy.choices,
        default=ReloadStrategy.IN_PLACE,
        help_text="How promote and rollback change versions: reload in place keeps the old version "
        "serving until the new one is ready; unload then load frees its memory first.",
    )
    inventory_at = models.DateTimeField(null=True, blank=True)
    # The previous scrape's raw counters, the baseline for the next rates. None after a
    # failed scrape, so that no rate ever spans a gap.
    last_counters = models.JSONField(null=True, blank=True, editable=False)
    # The live summary of its last scrape (fleet.frames.ServerSummary), as published to the
    # overview: the overview's page seed, read without touching the series.
    summary = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.url = self.url.rstrip("/")
        if not self.metrics_url:
            self.metrics_url = default_metrics_url(self.url)
        super().save(*args, **kwargs)

    @property
    def headers(self) -> dict[str, str]:
        if self.auth_header_name:
            return {self.auth_header_name: self.auth_header_value}
        return {}


class ModelVersion(models.Model):
    """One row of the repository index: a model, or one version of it.

    Models that are in the repository but not loaded have no version (empty string).
    """

    class State(models.TextChoices):
        READY = "READY"
        LOADING = "LOADING"
        UNLOADING = "UNLOADING"
        UNAVAILABLE = "UNAVAILABLE"

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    memory_usage_bytes = models.BigIntegerField(null=True, blank=True)
    # Statistics' last_inference (ms, Triton's clock: compared with other Triton stamps only)
    # and when FleetDeck first saw that value (our clock): the model served nothing since.
    last_inference_ms = models.BigIntegerField(null=True, blank=True)
    last_inference_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["server", "name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["server", "name", "version"], name="uniq_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.server}/{self.name}/{self.version or '-'}"


class ModelConfig(models.Model):
    """The config Triton reports for a model (GET /v2/models/{name}/config), kept whole."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="configs")
    name = models.CharField(max_length=200)
    config = models.JSONField(default=dict)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["server", "name"], name="uniq_model_config")]

    def __str__(self) -> str:
        return f"{self.server}/{self.name}"

    @property
    def backend(self) -> str:
        return str(self.config.get("backend") or self.config.get("platform") or "")

    @property
    def max_batch_size(self) -> int:
        return int(self.config.get("max_batch_size") or 0)

    @property
    def dynamic_batching(self) -> dict[str, Any] | None:
        value = self.config.get("dynamic_batching")
        return value if isinstance(value, dict) else None

    @property
    def instance_groups(self) -> list[dict[str, Any]]:
        return list(self.config.get("instance_group") or [])

    @property
    def version_policy(self) -> dict[str, Any]:
        return dict(self.config.get("version_policy") or {})


class ModelEvent(models.Model):
    """A change of state seen in the repository index (load, unload, failure)."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50, blank=True)
    at = models.DateTimeField(db_index=True)
    old_state = models.CharField(max_length=20, blank=True)
    new_state = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]


class Series(models.Model):
    """One time series: a derived metric of a server, or of a model version on it.

    Server-level series have an empty model; `label` carries the one extra dimension a
    metric has (a GPU's uuid, a failure reason), empty otherwise.
    """

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="series")
    model = models.CharField(max_length=200, blank=True)
    version = models.CharField(max_length=50, blank=True)
    metric = models.CharField(max_length=60)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["server", "model", "version", "metric", "label"], name="uniq_series"
            )
        ]

    def __str__(self) -> str:
        return f"{self.server_id}/{self.model}/{self.version}/{self.metric}/{self.label}"


class SeriesLayout(models.Model):
    """The order of the values in a server's blocks: Series ids, sorted by (metric, model,
    version, label), so one metric of one model is one contiguous slice of a block.

    A server gets a new layout only when its set of series changes (see fleet.storage).
    """

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="layouts")
    series_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)


class Block(models.Model):
    """One scrape of one server: its values as little-endian float64 in layout order, NaN
    where a series had no value. Kept for FLEET_RAW_RETENTION.

    A null `data` is a gap marker: the server stopped answering at `at`, and every series of
    the layout breaks its line there, however short the outage; aggregates skip it.
    """

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="blocks")
    at = models.DateTimeField()
    layout = models.ForeignKey(SeriesLayout, on_delete=models.CASCADE, related_name="blocks")
    data = models.BinaryField(null=True)

    class Meta:
        indexes = [models.Index(fields=["server", "at"], name="block_server_at")]


class Chunk(models.Model):
    """One hour of one series: the hour's count/sum/min/max and, for FLEET_MINUTE_RETENTION,
    its 60 one-minute buckets (`minutes`: float32 counts, sums, minima, maxima, 60 each)."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="chunks")
    at = models.DateTimeField()
    count = models.PositiveIntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()
    minutes = models.BinaryField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "at"], name="uniq_chunk")]

    @property
    def mean(self) -> float:
        return self.total / self.count


class RollupMark(models.Model):
    """How far a server's blocks are rolled up into chunks (exclusive end, an hour boundary)."""

    server = models.OneToOneField(
        Server, on_delete=models.CASCADE, primary_key=True, related_name="rollup_mark"
    )
    until = models.DateTimeField()


class Action(models.Model):
    """One control request (load, unload, promote, rollback) of one model on one server.

    The row is the record and the lock: at most one queued or running action per
    (server, model), enforced by a partial unique constraint, so two requests racing each
    other cannot both pass (Triton double-loads a model under concurrent loads, #7018).
    """

    class Kind(models.TextChoices):
        LOAD = "load"
        UNLOAD = "unload"
        PROMOTE = "promote"
        ROLLBACK = "rollback"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="actions")
    model = models.CharField(max_length=200)
    # What was asked (version, confirm, unload_dependents) and, once running, what the
    # rollback needs: the version policy and versions served before a promotion.
    parameters = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="fleet_actions"
    )
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Renewed by the running task; a running action whose heartbeat is older than
    # FLEET_ACTION_LEASE belongs to a lost worker (see fleet.control.runner.reconcile).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    result = models.TextField(blank=True, help_text="Triton's answer, or what the verification saw.")
    error = models.TextField(blank=True, help_text="Triton's error text, or why the action failed.")
    load_duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "model"],
                condition=models.Q(state__in=["queued", "running"]),
                name="one_active_action_per_model",
            )
        ]
        indexes = [models.Index(fields=["server", "model", "state"], name="action_server_model_state")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.server_id}/{self.model} {self.state}"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class Footprint(models.Model):
    """One measurement of a model's memory on a server: the server's memory gauge
    (nv_gpu_memory_used_bytes summed over GPUs, else nv_cpu_memory_used_bytes) after
    FleetDeck loaded it, less the gauge before. Host-wide and noisy: the autopilot uses the
    median of the last few (fleet.control.footprint)."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="footprints")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50, blank=True)  # the READY versions after the load
    bytes = models.BigIntegerField()
    gauge = models.CharField(max_length=40)  # the Triton family it was read from
    statistics_bytes = models.BigIntegerField(null=True, blank=True)  # statistics' memory_usage
    load_s = models.FloatField(null=True, blank=True)
    action = models.ForeignKey(Action, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    measured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-measured_at", "-id"]
        indexes = [models.Index(fields=["server", "name", "-measured_at"], name="footprint_server_name")]

    def __str__(self) -> str:
        return f"{self.server_id}/{self.name}/{self.version}: {self.bytes} B"


class AutopilotPolicy(models.Model):
    """A server's long-tail autopilot (fleet.autopilot): off unless enabled. The budget is
    bytes per server (the gauge's unit: GPU bytes summed over GPUs, or host bytes)."""

    server = models.OneToOneField(
        Server, on_delete=models.CASCADE, primary_key=True, related_name="autopilot"
    )
    enabled = models.BooleanField(default=False)
    memory_budget_bytes = models.BigIntegerField(null=True, blank=True)
    idle_unload_s = models.FloatField(null=True, blank=True)
    pinned = models.JSONField(default=list, blank=True)
    dry_run = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"autopilot of {self.server_id}"
