"""Helpers for deployment tests: a labelled pool of real Triton servers, a deployment made
through the API, and waiting on what the API says of it."""

from __future__ import annotations

import time
from typing import Any

from fleet.demo.localfleet import TritonProcess
from fleet.models import Server
from tests.conftest import client_for

VERSIONED = "versioned"


def pool(
    triton_factory: Any,
    server_for: Any,
    admin: Any,
    count: int,
    label: str = "ranking",
    repository: Any = None,
) -> list[tuple[TritonProcess, Server]]:
    """`count` empty Triton servers (nothing loaded) on the demo repository, labelled
    pool=<label> by an admin through the API."""
    where = {"repository": repository} if repository is not None else {}
    tritons = [triton_factory(models=[], name=f"{label}-{i + 1}", wait=False, **where) for i in range(count)]
    for triton in tritons:
        triton.wait_ready()
    servers = [server_for(t) for t in tritons]
    ada = client_for(admin)
    for server in servers:
        response = ada.patch(f"/api/servers/{server.id}/", {"labels": {"pool": label}}, format="json")
        assert response.status_code == 200, response.json()
    return list(zip(tritons, [Server.objects.get(id=s.id) for s in servers], strict=True))


def deploy(user: Any, versions: Any, label: str = "ranking", **fields: Any) -> dict[str, Any]:
    body = {"name": label, "model": VERSIONED, "selector": {"pool": label}, "versions": versions, **fields}
    response = client_for(user).post("/api/deployments/", body, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def states(user: Any, deployment_id: int) -> dict[str, str]:
    record = client_for(user).get(f"/api/deployments/{deployment_id}/").json()
    return {s["server_name"]: s["state"] for s in record["servers"]}


def wait_for(probe: Any, timeout: float = 60.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def rollout(user: Any, rollout_id: int) -> dict[str, Any]:
    response = client_for(user).get(f"/api/rollouts/{rollout_id}/")
    assert response.status_code == 200, response.json()
    return dict(response.json())


def wait_ended(user: Any, rollout_id: int, timeout: float = 120.0) -> dict[str, Any]:
    """The rollout once it left running and paused."""
    return dict(
        wait_for(
            lambda: (r := rollout(user, rollout_id))["state"] not in ("running", "paused") and r,
            timeout=timeout,
            what=f"rollout {rollout_id} to end",
        )
    )


def rolled(user: Any, deployment_id: int, versions: Any) -> dict[str, Any]:
    """Change the deployment's versions through the API (202) and wait for its rollout to end."""
    response = client_for(user).patch(
        f"/api/deployments/{deployment_id}/", {"versions": versions}, format="json"
    )
    assert response.status_code == 202, response.json()
    return wait_ended(user, response.json()["rollout_id"])


def in_sync(user: Any, deployment_id: int, count: int) -> None:
    last: list[Any] = []

    def done() -> bool:
        record = client_for(user).get(f"/api/deployments/{deployment_id}/").json()
        last[:] = record["servers"]
        return len(last) == count and {s["state"] for s in last} == {"in_sync"}

    try:
        wait_for(done, timeout=90, what="every server in_sync")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {last}") from None
