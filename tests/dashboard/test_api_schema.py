"""The OpenAPI schema documents the endpoints and every metric name."""

import pytest
import yaml

from fleet.catalog import METRICS
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_it_serves_a_schema_naming_the_endpoints_and_metrics(viewer) -> None:
    response = client_for(viewer).get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert {"/api/servers/", "/api/servers/{id}/models/", "/api/servers/{id}/series/"} <= set(schema["paths"])
    params = schema["paths"]["/api/servers/{id}/series/"]["get"]["parameters"]
    metric = next(p for p in params if p["name"] == "metric")
    assert set(metric["schema"]["enum"]) == set(METRICS)
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()


def test_it_refuses_the_schema_to_anonymous_callers() -> None:
    response = client_for(None).get("/api/schema/")
    assert response.status_code == 401
    assert b"paths" not in response.content
