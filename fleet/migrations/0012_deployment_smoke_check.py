"""Deployment.smoke_check: when the golden inputs were fitted to the model's config."""

from typing import Any

from django.db import migrations, models


def existing(apps: Any, schema_editor: Any) -> None:
    # Whether a deployment saved before this field was checked at save is not known; the
    # canary's smoke gate checks its inputs in any case, so that is what it is said to be.
    Deployment = apps.get_model("fleet", "Deployment")
    Deployment.objects.exclude(smoke={}).update(smoke_check="at_canary")


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0011_internals"),
    ]

    operations = [
        migrations.AddField(
            model_name="deployment",
            name="smoke_check",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.RunPython(existing, migrations.RunPython.noop),
    ]
