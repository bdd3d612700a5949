"""The action path: a promotion to a broken version fails, and the default `load_failed`
rule fires at once for that model with Triton's error as its cause; the next action on the
model that succeeds resolves it. No scrape is involved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User

from fleet import services
from fleet.alerting.defaults import default_rules
from fleet.models import Action, Alert, AlertRule
from tests.actions_support import add_model, demo_copy, wait_action, wait_until
from tests.celery_process import WorkerProcess
from tests.conftest import client_for
from tests.triton_fixtures import TritonFactory


def test_it_fires_load_failed_with_tritons_error_and_resolves_on_success(
    tmp_path: Path,
    triton_factory: TritonFactory,
    server_for: Any,
    operator: User,
    celery_worker_process: WorkerProcess,
) -> None:
    for fields in default_rules(1.0):
        AlertRule.objects.create(builtin=True, **fields)
    repo = demo_copy(tmp_path)
    pinned = "version_policy: { specific: { versions: [ 1 ] } }"
    add_model(repo, "fragile", {1: "ok", 2: "broken"}, extra=pinned)
    server = server_for(triton_factory(repo, models=["fragile"]))
    services.refresh_inventory(server)
    otto = client_for(operator)

    promoted = otto.post(f"/api/servers/{server.id}/models/fragile/promote/", {"version": 2}, format="json")
    action = wait_action(promoted.json()["action_id"])
    assert action.state == Action.State.FAILED
    # The worker evaluates right after it ended the row: the alert follows within moments.
    alert = wait_until(lambda: Alert.objects.filter(kind="load_failed", server=server).first(), 10, "alert")
    assert alert.state == "firing" and alert.fired_at is not None
    assert "fragile v2 cannot start: weights missing" in alert.cause
    assert alert.detail["action_id"] == action.id and alert.detail["action_kind"] == "promote"

    loaded = otto.post(f"/api/servers/{server.id}/models/fragile/load/", {}, format="json")
    assert wait_action(loaded.json()["action_id"]).state == Action.State.SUCCEEDED
    wait_until(lambda: Alert.objects.filter(id=alert.id, state="resolved").exists(), 10, "resolved")
    alert.refresh_from_db()
    assert alert.resolved_at is not None and alert.model == "fragile"
