"""POST/GET/PATCH/DELETE /api/deployments/ and labels on /api/servers/: who may write, what
is refused (a selector matching no server, golden inputs the model lacks), and the history
that records who changed what."""

import pytest
import requests

from fleet import services
from fleet.models import Action, Deployment, DeploymentChange, ModelConfig, Rollout, Server
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _body(**overrides):
    return {
        "name": "ranking",
        "model": "versioned",
        "selector": {"pool": "ranking"},
        "versions": [1],
        **overrides,
    }


def test_it_lets_only_admins_label_servers(admin, operator) -> None:
    server = Server.objects.create(name="t1", url="http://127.0.0.1:1")
    assert (
        client_for(operator)
        .patch(f"/api/servers/{server.id}/", {"labels": {"pool": "x"}}, format="json")
        .status_code
        == 403
    )
    response = client_for(admin).patch(
        f"/api/servers/{server.id}/", {"labels": {"pool": "ranking"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["labels"] == {"pool": "ranking"}
    assert Server.objects.get(id=server.id).labels == {"pool": "ranking"}
    bad = client_for(admin).patch(f"/api/servers/{server.id}/", {"labels": {"pool": 3}}, format="json")
    assert bad.status_code == 400
    made = client_for(admin).post(
        "/api/servers/", {"name": "t2", "url": "http://127.0.0.1:2", "labels": {"pool": "ads"}}, format="json"
    )
    assert made.status_code == 201 and made.json()["labels"] == {"pool": "ads"}


def test_it_refuses_a_selector_that_matches_no_server(operator) -> None:
    Server.objects.create(name="t1", url="http://127.0.0.1:1", labels={"pool": "ads"})
    response = client_for(operator).post("/api/deployments/", _body(), format="json")
    assert response.status_code == 400
    assert "{'pool': 'ranking'}" in response.json()["detail"]
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"versions": []}, "versions"),
        ({"versions": [0]}, "versions"),
        ({"model": "../etc"}, "plain model name"),
        ({"servers": [1]}, "either selector"),
        ({"gates": {"bake_minutes": 1}}, "bake_minutes"),
    ],
)
def test_it_refuses_bad_input(operator, changes, words) -> None:
    Server.objects.create(name="t1", url="http://127.0.0.1:1", labels={"pool": "ranking"})
    response = client_for(operator).post("/api/deployments/", _body(**changes), format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_it_lets_viewers_read_and_operators_write(viewer, operator) -> None:
    Server.objects.create(name="t1", url="http://127.0.0.1:1", labels={"pool": "ranking"})
    assert client_for(viewer).post("/api/deployments/", _body(), format="json").status_code == 403
    created = client_for(operator).post("/api/deployments/", _body(pinned=True), format="json")
    assert created.status_code == 201, created.json()
    record = created.json()
    assert record["pinned"] is True and record["versions"] == [1] and record["gates"]["bake_s"] == 60
    listed = client_for(viewer).get("/api/deployments/").json()
    assert [d["name"] for d in listed] == ["ranking"]
    assert (
        client_for(viewer)
        .patch(f"/api/deployments/{record['id']}/", {"paused": True}, format="json")
        .status_code
        == 403
    )


def test_it_keeps_every_change_with_who_and_when(operator, admin) -> None:
    Server.objects.create(name="t1", url="http://127.0.0.1:1", labels={"pool": "ranking"})
    deployment_id = client_for(operator).post("/api/deployments/", _body(), format="json").json()["id"]
    response = client_for(admin).patch(f"/api/deployments/{deployment_id}/", {"paused": True}, format="json")
    assert response.status_code == 200 and response.json()["paused"] is True
    history = client_for(operator).get(f"/api/deployments/{deployment_id}/").json()["history"]
    assert [(h["kind"], h["changed_by"]) for h in history] == [("changed", "ada"), ("created", "otto")]
    assert history[0]["changes"] == {"paused": [False, True]}
    assert history[0]["at"]

    assert client_for(operator).delete(f"/api/deployments/{deployment_id}/").status_code == 204
    assert not Deployment.objects.exists()
    kept = DeploymentChange.objects.order_by("at", "id")
    assert [(c.deployment_name, c.kind) for c in kept] == [
        ("ranking", "created"),
        ("ranking", "changed"),
        ("ranking", "deleted"),
    ]


def test_it_refuses_golden_inputs_the_model_lacks(operator, triton) -> None:
    server = Server.objects.create(
        name="t1", url=triton.http_url, metrics_url=triton.metrics_url, labels={"pool": "ranking"}
    )
    services.refresh_inventory(server)  # the inventory holds the model's config
    smoke = {
        "inputs": [{"name": "IMAGE", "datatype": "FP32", "shape": [1], "data": [1.0]}],
        "outputs": [{"name": "OUTPUT0", "data": [1]}],
    }
    response = client_for(operator).post("/api/deployments/", _body(smoke=smoke), format="json")
    assert response.status_code == 400
    assert "smoke input IMAGE is not an input of versioned" in response.json()["detail"]
    smoke["inputs"][0]["name"] = "INPUT0"
    smoke["inputs"][0]["datatype"] = "INT64"
    response = client_for(operator).post("/api/deployments/", _body(smoke=smoke), format="json")
    assert (
        response.status_code == 400
        and "INPUT0 is INT64, but versioned takes FP32" in response.json()["detail"]
    )
    smoke["inputs"][0]["datatype"] = "FP32"
    response = client_for(operator).post("/api/deployments/", _body(smoke=smoke), format="json")
    assert response.status_code == 201 and response.json()["smoke_check"] == "fits"


def test_it_asks_triton_for_the_config_when_the_inventory_has_none(operator, triton) -> None:
    server = Server.objects.create(
        name="t1", url=triton.http_url, metrics_url=triton.metrics_url, labels={"pool": "ranking"}
    )
    assert not ModelConfig.objects.filter(name="versioned").exists()  # never read by the inventory
    smoke = {
        "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [2, 1], "data": [1.0, 1.0]}],
        "outputs": [{"name": "OUTPUT0", "data": [1]}],
    }
    response = client_for(operator).post("/api/deployments/", _body(smoke=smoke), format="json")
    assert response.status_code == 400
    assert "smoke input INPUT0: shape [2, 1] does not fit the model's dims [1]" in response.json()["detail"]
    assert ModelConfig.objects.filter(server=server, name="versioned").exists()  # kept from Triton


def test_it_saves_golden_inputs_unchecked_when_no_server_serves_the_model(operator, triton) -> None:
    Server.objects.create(
        name="t1", url=triton.http_url, metrics_url=triton.metrics_url, labels={"pool": "ranking"}
    )
    smoke = {
        "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1], "data": [1.0]}],
        "outputs": [{"name": "OUTPUT0", "data": [1]}],
    }
    # longtail is in the repository but not loaded: Triton answers its config with a 404, so
    # the canary's smoke gate checks the inputs (tests/fleet/deploy/test_rollout_golden_misfit_at_canary.py).
    requests.post(f"{triton.http_url}/v2/repository/models/longtail/unload", json={}, timeout=30)
    body = _body(model="longtail", smoke=smoke)
    response = client_for(operator).post("/api/deployments/", body, format="json")
    # The answer says so: the inputs' fit is checked at the canary, not now.
    assert response.status_code == 201 and response.json()["smoke_check"] == "at_canary"
    without = client_for(operator).patch(
        f"/api/deployments/{response.json()['id']}/", {"smoke": {}}, format="json"
    )
    assert without.status_code == 200 and without.json()["smoke_check"] == "", without.json()


def test_it_leaves_models_loaded_when_deleted_unless_asked(operator, triton) -> None:
    server = Server.objects.create(
        name="t1", url=triton.http_url, metrics_url=triton.metrics_url, labels={"pool": "ranking"}
    )
    services.refresh_inventory(server)
    otto = client_for(operator)
    kept = otto.post("/api/deployments/", _body(), format="json").json()["id"]
    assert otto.delete(f"/api/deployments/{kept}/").status_code == 204
    assert not Action.objects.exists()

    gone = otto.post("/api/deployments/", _body(), format="json").json()["id"]
    response = otto.delete(f"/api/deployments/{gone}/?unload=true")
    assert response.status_code == 204
    (unload,) = Action.objects.all()  # queued; this test runs no worker
    assert (unload.kind, unload.model, unload.server_id, unload.requested_by) == (
        "unload",
        "versioned",
        server.id,
        operator,
    )
    assert response["X-Unload-Actions"] == str(unload.id)


def test_it_changes_nothing_when_a_rollout_is_already_running(operator) -> None:
    server = Server.objects.create(name="t1", url="http://127.0.0.1:1", labels={"pool": "ranking"})
    deployment = Deployment.objects.create(
        name="ranking", model="versioned", selector={"pool": "ranking"}, versions=[1]
    )
    running = Rollout.objects.create(
        deployment=deployment, from_versions=[1], to_versions=[2], waves=[[server.id]]
    )
    history = DeploymentChange.objects.count()

    answer = client_for(operator).patch(
        f"/api/deployments/{deployment.id}/", {"versions": [3], "paused": True}, format="json"
    )

    assert answer.status_code == 409, answer.json()
    assert f"#{running.id}" in answer.json()["detail"]
    deployment.refresh_from_db()
    assert (deployment.versions, deployment.paused) == ([1], False)
    assert DeploymentChange.objects.count() == history
