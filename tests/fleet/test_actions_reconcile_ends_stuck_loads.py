"""An action Triton keeps showing LOADING is not left running for ever: once it is
FLEET_ACTION_MAX_AGE old, reconcile ends it failed, saying Triton was stuck."""

import threading
from datetime import timedelta

import pytest
import requests as http
from django.utils import timezone

from fleet import services
from fleet.control import runner
from fleet.models import Action
from tests.actions_support import add_model, demo_copy, states, wait_until

# transaction: reconcile() closes connections it finds in a transaction, as beat's would be.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_ends_an_action_triton_keeps_loading_past_the_max_age(
    tmp_path, triton_factory, server_for, settings
) -> None:
    repo = demo_copy(tmp_path)
    add_model(repo, "sleepy", {1: "sleepy:8"})
    process = triton_factory(repo, models=["fast"])
    server = server_for(process)
    services.refresh_inventory(server)
    load = threading.Thread(
        target=http.post,
        args=(f"{process.http_url}/v2/repository/models/sleepy/load",),
        kwargs={"timeout": 60},
    )
    load.start()
    try:
        wait_until(lambda: states(process.http_url, "sleepy") == ["LOADING"], 30, "Triton to load")
        settings.FLEET_ACTION_MAX_AGE = 60.0
        now = timezone.now()
        lost = now - timedelta(seconds=settings.FLEET_ACTION_LEASE + 5)

        young = Action.objects.create(
            kind=Action.Kind.LOAD, server=server, model="sleepy", state=Action.State.RUNNING,
            started_at=now - timedelta(seconds=50), heartbeat_at=lost,
        )  # fmt: skip
        assert runner.reconcile(now) == 0  # Triton is at it, and not for long: wait
        Action.objects.filter(id=young.id).update(started_at=now - timedelta(seconds=61))
        assert runner.reconcile(now) == 1
        ended = Action.objects.get(id=young.id)
        assert ended.state == Action.State.FAILED
        assert "LOADING" in ended.error and "FLEET_ACTION_MAX_AGE" in ended.error
    finally:
        load.join(timeout=60)
