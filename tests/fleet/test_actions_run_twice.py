"""run_action takes an id and claims the row: running it twice (a redelivered message, the
CLI's --inline racing a worker) acts once."""

import pytest

from fleet import services
from fleet.control import requests, runner
from fleet.models import Action
from tests.conftest import _actor

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_acts_once_when_run_twice(triton_factory, server_for) -> None:
    triton = triton_factory()
    server = server_for(triton)
    services.refresh_inventory(server)
    otto = _actor("otto", "operator")
    action = requests.request_action(server, "longtail", Action.Kind.LOAD, otto)
    runner.run_action(action.id)
    runner.run_action(action.id)
    action.refresh_from_db()
    assert action.state == Action.State.SUCCEEDED, action.error
    assert triton.log_path.read_text().count('"loading: longtail:1"') == 1
