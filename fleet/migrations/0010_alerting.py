# The tables of alert rules, alerts, webhooks (issue 11), and the default rules.

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import fleet.models.core
from fleet.alerting.defaults import default_rules


def create_default_rules(apps: Any, schema_editor: Any) -> None:
    rule = apps.get_model("fleet", "AlertRule")
    for fields in default_rules(settings.FLEET_SCRAPE_INTERVAL):
        rule.objects.get_or_create(kind=fields["kind"], builtin=True, defaults=fields)


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0009_deployments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="AlertRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(blank=True, max_length=200)),
                ("kind", models.CharField(choices=[("queue_time", "Queue Time"), ("failure_rate", "Failure Rate"), ("model_not_ready", "Model Not Ready"), ("server_down", "Server Down"), ("load_failed", "Load Failed"), ("scrape_errors", "Scrape Errors")], max_length=20)),
                ("threshold", models.FloatField(blank=True, null=True)),
                ("for_s", models.FloatField(default=0.0, help_text="Seconds the condition must hold before firing.")),
                ("selector", models.JSONField(blank=True, default=dict)),
                ("model", models.CharField(blank=True, max_length=200)),
                ("enabled", models.BooleanField(default=True)),
                ("builtin", models.BooleanField(default=False, editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("server", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="alert_rules", to="fleet.server")),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="Alert",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=20)),
                ("model", models.CharField(blank=True, max_length=200)),
                ("target", models.CharField(max_length=260)),
                ("state", models.CharField(choices=[("pending", "Pending"), ("firing", "Firing"), ("resolved", "Resolved")], default="pending", max_length=10)),
                ("value", models.FloatField(blank=True, null=True)),
                ("cause", models.TextField(blank=True)),
                ("detail", models.JSONField(blank=True, default=dict)),
                ("started_at", models.DateTimeField(help_text="When the condition began to hold.")),
                ("fired_at", models.DateTimeField(blank=True, null=True)),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("silenced_until", models.DateTimeField(blank=True, null=True)),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                ("server", models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="alerts", to="fleet.server")),
                ("silenced_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("acknowledged_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("rule", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="alerts", to="fleet.alertrule")),
            ],
            options={"ordering": ["-started_at", "-id"]},
        ),
        migrations.CreateModel(
            name="Webhook",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("url", models.CharField(max_length=500, validators=[fleet.models.core.validate_http_url])),
                ("format", models.CharField(choices=[("alertmanager", "Alertmanager"), ("slack", "Slack"), ("json", "Json")], default="json", max_length=20)),
                ("enabled", models.BooleanField(default=True)),
                ("failing", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event", models.CharField(max_length=10)),
                ("status", models.CharField(choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=10)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("response_code", models.PositiveIntegerField(blank=True, null=True)),
                ("last_error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("alert", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="fleet.alert")),
                ("webhook", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="fleet.webhook")),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["server", "state"], name="alert_server_state"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["state", "-started_at"], name="alert_state_started"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(condition=models.Q(("state__in", ["pending", "firing"])), fields=("rule", "target"), name="one_open_alert_per_rule_target"),
        ),
        migrations.RunPython(create_default_rules, migrations.RunPython.noop),
    ]
