"""`manage.py fleet ...`: the same service as the API, waiting and printing progress."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fleet import services
from fleet.models import Action
from tests.actions_support import served_version

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_promotes_by_server_name_and_waits(operator, triton_factory, server_for) -> None:
    triton = triton_factory()
    server = server_for(triton, name="edge-1")
    services.refresh_inventory(server)
    out = io.StringIO()
    # --inline: this process runs it, so the test needs no worker.
    call_command("fleet", "promote", "edge-1", "versioned", "2", "--user", "otto", "--inline", stdout=out)
    text = out.getvalue()
    assert "queued" in text and "running" in text and "succeeded" in text
    assert served_version(triton.http_url) == 2
    action = Action.objects.get()
    assert (action.kind, action.requested_by, action.state) == ("promote", operator, "succeeded")

    out = io.StringIO()
    call_command("fleet", "rollback", str(server.id), "versioned", "--user", "otto", "--inline", stdout=out)
    assert served_version(triton.http_url) == 3


def test_it_refuses_viewers_unknown_models_and_read_only_mode(
    viewer, operator, triton, server_for, settings
) -> None:
    server = server_for(triton)
    services.refresh_inventory(server)
    with pytest.raises(CommandError, match="not an operator"):
        call_command("fleet", "load", server.name, "longtail", "--user", "vera")
    with pytest.raises(CommandError, match="no model 'nosuch'"):
        call_command("fleet", "load", server.name, "nosuch", "--user", "otto")
    with pytest.raises(CommandError, match="no server"):
        call_command("fleet", "load", "nowhere", "longtail", "--user", "otto")
    settings.FLEET_READ_ONLY = True
    with pytest.raises(CommandError, match="read-only"):
        call_command("fleet", "load", server.name, "longtail", "--user", "otto")
    assert not Action.objects.exists()
