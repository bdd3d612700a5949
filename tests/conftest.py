"""Shared fixtures: named actors, API clients, and a registered real Triton server.

Triton processes come from tests/triton_fixtures.py (loaded as a plugin in pyproject).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from knox.models import AuthToken
from rest_framework.test import APIClient

from fleet.demo.localfleet import TritonProcess
from fleet.models import Server


@pytest.fixture(autouse=True)
def _fast_settings(settings: Any) -> None:
    # Tests scrape by calling the service; inventory every scrape keeps them short.
    settings.FLEET_INVENTORY_INTERVAL = 0


def _actor(username: str, group: str | None = None, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def no_role(db: None) -> User:
    """Signed in, but in none of the role groups: sees nothing."""
    return _actor("nora", "lunch-club")


@pytest.fixture
def viewer(db: None) -> User:
    return _actor("vera", "viewer")


@pytest.fixture
def operator(db: None) -> User:
    return _actor("otto", "operator")


@pytest.fixture
def admin(db: None) -> User:
    return _actor("ada", "admin")


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def server_for() -> Iterator[Any]:
    """Register a running TritonProcess as a Server row."""

    def make(triton: TritonProcess, name: str | None = None) -> Server:
        return Server.objects.create(
            name=name or triton.name, url=triton.http_url, metrics_url=triton.metrics_url
        )

    yield make


@pytest.fixture(scope="session", autouse=True)
def _forget_own_stats() -> Iterator[None]:
    """Drop this run's own-stats keys from the shared Redis (their prefix is per run)."""
    yield
    from django.conf import settings

    from fleet.own_stats import _client

    keys = list(_client().scan_iter(f"{settings.FLEET_REDIS_PREFIX}:*"))
    if keys:
        _client().delete(*keys)


@pytest.fixture
def scraped(triton: TritonProcess, server_for: Any) -> Server:
    """The session's Triton registered and scraped twice, with 20 inferences of `fast` between."""
    from fleet import services
    from fleet.demo.traffic import send_inferences

    server = server_for(triton)
    services.scrape_server(server.id)
    send_inferences(server.url, "fast", 20)
    time.sleep(0.2)
    services.scrape_server(server.id)
    return server
