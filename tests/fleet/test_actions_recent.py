"""What a page shows of actions when it opens: the last hour's, and any still active."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.control import record
from fleet.models import Action, Server

pytestmark = pytest.mark.django_db


def test_it_lists_the_last_hour_and_whatever_is_still_active(operator) -> None:
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    old_done = Action.objects.create(
        kind="load", server=server, model="a", state="succeeded", requested_by=operator
    )
    old_stuck = Action.objects.create(
        kind="load", server=server, model="b", state="running", requested_by=operator
    )
    fresh = Action.objects.create(
        kind="unload", server=server, model="c", state="failed", requested_by=operator
    )
    Action.objects.filter(id__in=[old_done.id, old_stuck.id]).update(
        requested_at=timezone.now() - timedelta(days=2)
    )

    listed = [a["id"] for a in record.recent()]
    assert listed == [fresh.id, old_stuck.id]
    assert [a["id"] for a in record.recent(server.id, "b")] == [old_stuck.id]
    assert record.recent(server.id + 1) == []
