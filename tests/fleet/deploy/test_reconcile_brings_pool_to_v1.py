"""A deployment of `versioned` v1 to pool=ranking: beat's reconcile loads it on each of three
empty Triton servers through actions of the reconciler, one per server, until every one
serves v1 and the API says in_sync."""

import pytest

from fleet.models import Action
from tests.actions_support import served_version
from tests.deploy_support import deploy, pool, states, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_brings_every_server_of_the_pool_to_v1(
    admin, operator, triton_factory, server_for, celery_worker_factory
) -> None:
    fleet = pool(triton_factory, server_for, admin, 3)
    outsider = triton_factory(models=[], name="elsewhere")
    server_for(outsider)
    celery_worker_factory(env={"FLEET_DEPLOY_RECONCILE_INTERVAL": "1"})

    deployment = deploy(operator, [1])

    wait_for(
        lambda: set(states(operator, deployment["id"]).values()) == {"in_sync"},
        timeout=90,
        what="every server in_sync",
    )
    assert sorted(states(operator, deployment["id"])) == ["ranking-1", "ranking-2", "ranking-3"]
    for triton, _server in fleet:
        assert served_version(triton.http_url) == 1
    loads = Action.objects.filter(model="versioned")
    assert sorted(a.server.name for a in loads) == ["ranking-1", "ranking-2", "ranking-3"]
    assert {str(a.requested_by) for a in loads} == {"reconciler"}
    assert {a.state for a in loads} == {Action.State.SUCCEEDED}
    assert all(a.parameters["version_policy"] == {"specific": {"versions": [1]}} for a in loads)
