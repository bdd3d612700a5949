"""What the fast ensure path must not answer goes to Django and gets Django's answer: a
viewer's token, an unknown server, a model not READY, a model with an action queued, even
for a token the fast path knows (compared with the same request to Django alone)."""

from typing import Any

import pytest
from knox.models import AuthToken

from config.asgi import django_asgi_app
from fleet import services
from fleet.models import Action
from tests.autopilot_support import REPOSITORY
from tests.fast_ensure_support import FAST, Answer, fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


def without_ids(answer: Answer) -> tuple[Any, ...]:
    body = {k: v for k, v in answer.json().items() if k not in ("waited_s", "action_id")}
    return answer.status, answer.same_shape()[1], body


def test_it_gives_djangos_answer(operator, viewer, triton_factory, server_for, settings) -> None:
    settings.FLEET_ENSURE_WAIT = 0.3  # a load no worker runs: 202 after this
    triton = triton_factory(REPOSITORY, models=["mem128"])
    server = server_for(triton)
    services.refresh_inventory(server)
    _, otto = AuthToken.objects.create(user=operator)
    _, vera = AuthToken.objects.create(user=viewer)
    base = f"/api/servers/{server.id}/models"
    assert post(FAST, f"{base}/mem128/ensure/", otto).status == 200
    with watch() as queries:
        assert post(FAST, f"{base}/mem128/ensure/", otto).status == 200
    assert queries.django == [], "otto's token is known to the fast path"

    # A viewer: Django refuses (403) and so never vouches for the token.
    for _ in range(2):
        with watch() as queries:
            refused = post(FAST, f"{base}/mem128/ensure/", vera)
        assert refused.status == 403 and queries.django and queries.fast == []
        assert refused.same_shape() == post(django_asgi_app, f"{base}/mem128/ensure/", vera).same_shape()

    # An unknown server: 404, as Django says.
    unknown = post(FAST, "/api/servers/999999/models/mem128/ensure/", otto)
    assert unknown.status == 404
    assert (
        unknown.same_shape()
        == post(django_asgi_app, "/api/servers/999999/models/mem128/ensure/", otto).same_shape()
    )

    # A model in the repository but not READY: Django requests the load (202, no worker here).
    first = post(FAST, f"{base}/mem256/ensure/", otto)
    assert (first.status, first.json()["state"]) == (202, "queued"), first.body
    Action.objects.filter(id=first.json()["action_id"]).delete()
    again = post(django_asgi_app, f"{base}/mem256/ensure/", otto)
    assert without_ids(first) == without_ids(again)

    # READY, but an action is queued on it (an unload): the fast path must not say READY.
    unload = Action.objects.create(
        kind=Action.Kind.UNLOAD, server=server, model="mem128", parameters={"confirmed": True}
    )
    busy = post(FAST, f"{base}/mem128/ensure/", otto)
    assert (busy.status, busy.json()["state"], busy.json()["action_id"]) == (202, "queued", unload.id)
    assert busy.same_shape() == post(django_asgi_app, f"{base}/mem128/ensure/", otto).same_shape()
    unload.delete()
    assert post(FAST, f"{base}/mem128/ensure/", otto).json()["state"] == "READY"
