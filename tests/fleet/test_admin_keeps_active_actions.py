"""In /admin/, a queued or running action cannot be deleted, alone or in a bulk delete:
its row is the lock on its model. Ended actions can."""

import pytest
from django.contrib.admin import site
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from fleet.models import Action, Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-root"))
    return client


def test_it_refuses_to_delete_an_active_action(root) -> None:
    server = Server.objects.create(name="s", url="http://127.0.0.1:9")
    running = Action.objects.create(kind="load", server=server, model="a", state="running")
    queued = Action.objects.create(kind="load", server=server, model="b", state="queued")
    done = Action.objects.create(kind="load", server=server, model="c", state="failed")

    for active in (running, queued):
        assert root.get(f"/admin/fleet/action/{active.id}/delete/").status_code == 403
        assert root.post(f"/admin/fleet/action/{active.id}/delete/", {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [running.id, queued.id, done.id], "post": "yes"}
    assert root.post("/admin/fleet/action/", bulk).status_code == 403
    assert set(Action.objects.values_list("id", flat=True)) == {running.id, queued.id, done.id}

    # Ended actions go, alone or in bulk.
    assert root.post(f"/admin/fleet/action/{done.id}/delete/", {"post": "yes"}).status_code == 302
    assert set(Action.objects.values_list("id", flat=True)) == {running.id, queued.id}
    # A model freed meanwhile: its ended row goes in bulk, and the bulk never takes a live one.
    Action.objects.filter(id=queued.id).update(state="succeeded")
    root.post("/admin/fleet/action/", {**bulk, "_selected_action": [queued.id]})
    assert set(Action.objects.values_list("id", flat=True)) == {running.id}
    # However the admin is driven, its delete leaves live rows alone.
    Action.objects.create(kind="load", server=server, model="d", state="succeeded")
    model_admin = site._registry[Action]
    model_admin.delete_queryset(RequestFactory().post("/"), Action.objects.all())
    assert list(Action.objects.values_list("id", flat=True)) == [running.id]
    # Nor does deleting its server (which would cascade to it) while it is active.
    assert root.post(f"/admin/fleet/server/{server.id}/delete/", {"post": "yes"}).status_code == 403
    assert Action.objects.filter(id=running.id).exists()
