"""/healthz answers without login, for load balancers and compose healthchecks."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_answers_ok_without_a_login() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
