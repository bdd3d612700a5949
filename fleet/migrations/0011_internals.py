# The tables of batching readings and debug sessions (issue 14).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0010_alerting"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BatchReading",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("model", models.CharField(max_length=200)),
                ("at", models.DateTimeField()),
                ("totals", models.JSONField(default=dict)),
                (
                    "server",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="batch_readings",
                        to="fleet.server",
                    ),
                ),
            ],
            options={
                "ordering": ["-at"],
                "indexes": [
                    models.Index(fields=["server", "model", "at"], name="batchreading_server_model_at")
                ],
            },
        ),
        migrations.CreateModel(
            name="DebugSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("model", models.CharField(max_length=200)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("ends_at", models.DateTimeField(db_index=True)),
                (
                    "state",
                    models.CharField(
                        choices=[("active", "Active"), ("reverted", "Reverted"), ("failed", "Failed")],
                        default="active",
                        max_length=10,
                    ),
                ),
                ("previous", models.JSONField(default=dict)),
                ("applied", models.JSONField(default=dict)),
                (
                    "notes",
                    models.TextField(
                        blank=True, help_text="What could not be changed (a missing extension)."
                    ),
                ),
                ("reverted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "reverted_by",
                    models.CharField(blank=True, help_text="a username, 'timer' or 'sweep'", max_length=150),
                ),
                ("revert_error", models.TextField(blank=True)),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="fleet_debug_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "server",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="debug_sessions",
                        to="fleet.server",
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state", "active")),
                        fields=("server", "model"),
                        name="one_active_debug_session_per_model",
                    )
                ],
            },
        ),
    ]
