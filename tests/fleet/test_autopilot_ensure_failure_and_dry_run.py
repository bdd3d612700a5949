"""A load that fails after evictions reports both (502), and the evicted model is not loaded
again by itself; in dry-run mode ensure loads without evicting and says what it would evict."""

import shutil

import pytest

from fleet import services
from fleet.models import AutopilotPolicy
from tests.actions_support import add_model, states
from tests.autopilot_support import REPOSITORY, seed_footprints
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
MIB = 2**20


def test_it_reports_evictions_with_a_failed_load_and_plans_in_dry_run(
    operator, triton_factory, server_for, celery_worker_process, tmp_path
) -> None:
    repo = tmp_path / "models"
    shutil.copytree(REPOSITORY, repo, ignore=shutil.ignore_patterns("__pycache__"))
    add_model(repo, "fragile", {1: "broken"})
    triton = triton_factory(repo, models=["mem256"])
    server = server_for(triton)
    services.refresh_inventory(server)
    seed_footprints(server, {"mem256": 256, "mem384": 384, "fragile": 384})
    AutopilotPolicy.objects.create(server=server, enabled=True, memory_budget_bytes=500 * MIB)
    otto = client_for(operator)
    base = f"/api/servers/{server.id}/models"

    failed = otto.post(f"{base}/fragile/ensure/", {}, format="json")

    assert failed.status_code == 502, failed.json()
    body = failed.json()
    assert (body["state"], body["loaded"], body["evicted"]) == ("FAILED", False, ["mem256"])
    assert "weights missing" in body["error"]
    assert states(triton.http_url, "mem256") == ["UNAVAILABLE"]  # evicted, and left so

    loaded = otto.post(f"{base}/mem256/ensure/", {}, format="json").json()
    assert (loaded["state"], loaded["evicted"]) == ("READY", [])
    AutopilotPolicy.objects.filter(server=server).update(dry_run=True)
    planned = otto.post(f"{base}/mem384/ensure/", {}, format="json").json()

    assert (planned["state"], planned["loaded"], planned["evicted"]) == ("READY", True, [])
    assert planned["would_evict"] == ["mem256"]
    assert states(triton.http_url, "mem256") == ["READY"] and states(triton.http_url, "mem384") == ["READY"]
