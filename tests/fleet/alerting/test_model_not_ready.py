"""model_not_ready: a model a deployment puts on the server and that has no READY version
fires, naming the deployment and what Triton shows; it resolves once the model is READY.
A model merely present in the repository, never deployed nor failed, stays quiet."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from fleet import services
from fleet.models import Alert, AlertRule, Deployment, DeploymentTarget
from tests.triton_fixtures import TritonFactory

pytestmark = pytest.mark.django_db


def test_it_fires_for_a_deployed_model_that_is_not_ready(
    triton_factory: TritonFactory, server_for: Any
) -> None:
    rule = AlertRule.objects.create(name="not ready", kind="model_not_ready", for_s=0)
    triton = triton_factory(models=["fast"], name="half-loaded")
    server = server_for(triton)
    deployment = Deployment.objects.create(name="versioned-everywhere", model="versioned", versions="latest")
    DeploymentTarget.objects.create(deployment=deployment, server=server)
    services.scrape_server(server.id)

    (alert,) = Alert.objects.filter(rule=rule)
    assert (alert.state, alert.model) == ("firing", "versioned")
    assert alert.cause.startswith("not READY: deployed by versioned-everywhere; Triton shows UNAVAILABLE")

    requests.post(f"{triton.http_url}/v2/repository/models/versioned/load", timeout=60).raise_for_status()
    services.scrape_server(server.id)
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert (
        Alert.objects.filter(rule=rule).count() == 1
    )  # slow, preprocess...: in the repository, not deployed
