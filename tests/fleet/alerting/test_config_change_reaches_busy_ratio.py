"""The busy ratio's instance counts come from the model configs, cached per server by the
configs' own version (read in the scrape's one evaluation query): a config rewritten by an
inventory read reaches the next scrape, and an inventory read that rewrote none reads no
config back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from fleet.alerting import evaluate, rules
from fleet.models import ModelConfig, Server

pytestmark = pytest.mark.django_db


def _instances(server: Server) -> int:
    configs = rules.watching_with_open(server, evaluate.SCRAPE_KINDS).configs
    return evaluate.shapes(server, configs)["m"].instances


def test_it_sees_a_rewritten_config_and_keeps_an_unchanged_one(django_assert_num_queries: Any) -> None:
    server = Server.objects.create(name="cfg-host", url="http://127.0.0.1:1", inventory_at=timezone.now())
    ModelConfig.objects.create(server=server, name="m", config={"instance_group": [{"count": 1}]})
    assert _instances(server) == 1
    # An inventory read that rewrote no config: the cache holds (the evaluation query only).
    server.inventory_at = timezone.now() + timedelta(seconds=30)
    with django_assert_num_queries(1):
        assert _instances(server) == 1
    # An inventory read that rewrote the config (as services.refresh_inventory writes it).
    ModelConfig.objects.update_or_create(
        server=server, name="m", defaults={"config": {"instance_group": [{"count": 4}]}}
    )
    assert _instances(server) == 4
    # A model removed from the repository (fleet.rollups): its config goes, and the shapes.
    ModelConfig.objects.filter(server=server, name="m").delete()
    configs = rules.watching_with_open(server, evaluate.SCRAPE_KINDS).configs
    assert "m" not in evaluate.shapes(server, configs)
