"""Servers set to "unload then load": promotion frees the old version first, and a failed
load puts the previous config back."""

import pytest

from fleet import services
from fleet.control import requests, runner
from fleet.models import Action, Server
from tests.actions_support import served_version

pytestmark = pytest.mark.django_db


def run(server: Server, operator, **kwargs) -> Action:
    action = requests.request_action(server, "versioned", Action.Kind.PROMOTE, operator, **kwargs)
    runner.run_action(action.id)  # inline: the worker path is covered elsewhere
    action.refresh_from_db()
    return action


def test_it_unloads_first_and_restores_after_a_failed_load(triton_factory, server_for, operator) -> None:
    triton = triton_factory()
    server = server_for(triton)
    Server.objects.filter(id=server.id).update(reload_strategy=Server.ReloadStrategy.UNLOAD_FIRST)
    server.refresh_from_db()
    services.refresh_inventory(server)

    promoted = run(server, operator, version=2)
    assert promoted.state == Action.State.SUCCEEDED, promoted.error
    assert served_version(triton.http_url) == 2

    broken = run(server, operator, version=9)  # no such version in the repository
    assert broken.state == Action.State.FAILED
    assert "at least one version must be available" in broken.error
    assert served_version(triton.http_url) == 2  # the previous config was loaded again
