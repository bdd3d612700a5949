# The tables of deployments, reconcile state and rollouts (issue 9).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0008_server_versions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Deployment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                ("model", models.CharField(max_length=200)),
                ("selector", models.JSONField(blank=True, default=dict)),
                ("server_ids", models.JSONField(blank=True, default=list)),
                ("versions", models.JSONField(default=list)),
                ("pinned", models.BooleanField(default=False)),
                ("config", models.JSONField(blank=True, default=dict)),
                ("smoke", models.JSONField(blank=True, default=dict)),
                ("gates", models.JSONField(blank=True, default=dict)),
                (
                    "paused",
                    models.BooleanField(default=False, help_text="Reconcile leaves its servers alone."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="DeploymentChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("deployment_name", models.CharField(max_length=100)),
                ("kind", models.CharField(max_length=20)),
                ("changes", models.JSONField(default=dict)),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "changed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "deployment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="changes",
                        to="fleet.deployment",
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="DeploymentTarget",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("in_sync", "In Sync"),
                            ("drift", "Drift"),
                            ("converging", "Converging"),
                            ("failed", "Failed"),
                        ],
                        default="drift",
                        max_length=12,
                    ),
                ),
                ("detail", models.TextField(blank=True)),
                ("actual_versions", models.JSONField(default=list)),
                ("error", models.TextField(blank=True)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("retry_at", models.DateTimeField(blank=True, null=True)),
                ("checked_at", models.DateTimeField(auto_now=True)),
                (
                    "action",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="fleet.action",
                    ),
                ),
                (
                    "deployment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="targets",
                        to="fleet.deployment",
                    ),
                ),
                (
                    "server",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deployment_targets",
                        to="fleet.server",
                    ),
                ),
            ],
            options={
                "ordering": ["deployment", "server"],
                "constraints": [
                    models.UniqueConstraint(fields=("deployment", "server"), name="uniq_deployment_target")
                ],
            },
        ),
        migrations.CreateModel(
            name="Rollout",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("running", "Running"),
                            ("paused", "Paused"),
                            ("succeeded", "Succeeded"),
                            ("rolled_back", "Rolled Back"),
                            ("aborted", "Aborted"),
                            ("failed", "Failed"),
                        ],
                        default="running",
                        max_length=12,
                    ),
                ),
                ("from_versions", models.JSONField(default=list)),
                ("to_versions", models.JSONField(default=list)),
                ("waves", models.JSONField(default=list)),
                ("wave", models.PositiveIntegerField(default=0)),
                ("undo", models.JSONField(blank=True, default=dict)),
                ("timeline", models.JSONField(default=list)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "deployment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rollouts",
                        to="fleet.deployment",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state__in", ["running", "paused"])),
                        fields=("deployment",),
                        name="one_active_rollout_per_deployment",
                    )
                ],
            },
        ),
    ]
