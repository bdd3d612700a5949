"""/audit/: every action, filterable by server, model, user and state; data shown as text."""

import pytest
from django.test import Client

from fleet.models import Action, Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(operator, admin):
    a = Server.objects.create(name="alpha", url="http://alpha:8000")
    b = Server.objects.create(name="beta", url="http://beta:8000")
    Action.objects.create(kind="load", server=a, model="fast", requested_by=operator, state="succeeded")
    Action.objects.create(
        kind="promote", server=b, model="versioned", requested_by=admin, state="failed",
        error="<script>alert('x')</script> load failed",
    )  # fmt: skip
    return a, b


def page(user, query: str = "") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/audit/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_it_requires_login() -> None:
    response = Client().get("/audit/")
    assert response.status_code == 302


def test_it_lists_and_filters_actions(viewer, history) -> None:
    alpha, _beta = history
    everything = page(viewer)
    assert everything.count("data-action=") == 2
    assert page(viewer, f"?server={alpha.id}").count("data-action=") == 1
    assert page(viewer, "?model=versioned").count('data-state="failed"') == 1
    assert page(viewer, "?user=otto").count("data-action=") == 1
    assert page(viewer, "?state=succeeded").count("data-action=") == 1
    assert "No actions match" in page(viewer, "?state=running")


def test_it_renders_data_as_text(viewer, history) -> None:
    html = page(viewer)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html
