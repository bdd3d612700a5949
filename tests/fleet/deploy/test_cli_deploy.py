"""`manage.py fleet deploy NAME --versions 2` waits and prints the waves as they go;
`manage.py fleet rollout status ID` prints the rollout; verbs on an ended rollout, a viewer,
or an unknown deployment are refused (exit status 2)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.actions_support import served_version
from tests.deploy_support import deploy, in_sync, pool

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_deploys_and_prints_the_waves(
    admin, operator, viewer, triton_factory, server_for, celery_worker_factory
) -> None:
    ((triton, _server),) = pool(triton_factory, server_for, admin, 1)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1", "FLEET_DEPLOY_ROLLOUT_POLL": "0.2"})
    deployment = deploy(operator, [1], gates={"bake_s": 1})
    in_sync(operator, deployment["id"], 1)

    with pytest.raises(CommandError, match="not an operator") as refused:
        call_command("fleet", "deploy", "ranking", "--versions", "2", "--user", "vera")
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="no deployment named 'ads'"):
        call_command("fleet", "deploy", "ads", "--versions", "2", "--user", "otto")

    out = io.StringIO()
    call_command(
        "fleet", "deploy", "ranking", "--versions", "2", "--user", "otto", "--timeout", "90", stdout=out
    )
    text = out.getvalue()
    assert "[1] -> [2]" in text
    assert "waves: 1:pending" in text and "waves: 1:passed" in text
    assert "wave 1 (canary): loading on ranking-1" in text
    assert text.rstrip().endswith("succeeded")
    assert served_version(triton.http_url) == 2

    rollout_id = int(text.split("rollout #")[1].split(" ")[0])
    out = io.StringIO()
    call_command("fleet", "rollout", "status", str(rollout_id), "--user", "vera", stdout=out)
    assert json.loads(out.getvalue())["state"] == "succeeded"
    with pytest.raises(CommandError, match="has ended") as ended:
        call_command("fleet", "rollout", "abort", str(rollout_id), "--user", "otto")
    assert ended.value.returncode == 2
