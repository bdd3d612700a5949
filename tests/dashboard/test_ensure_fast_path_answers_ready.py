"""Ensure of a model READY on a real Triton, for a token Django authorized: answered in front
of Django (no Django request, none of its queries: only the one READY check), with the
answer Django gives byte for byte but the time taken; Triton is not asked."""

import pytest
from knox.models import AuthToken

from config.asgi import django_asgi_app
from fleet import services
from tests.autopilot_support import REPOSITORY
from tests.fast_ensure_support import FAST, fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


def test_it_answers_ready_without_django(operator, triton_factory, server_for, settings) -> None:
    settings.FLEET_ENSURE_AUTH_TTL = 60  # no renewal in between: the count below is exact
    triton = triton_factory(REPOSITORY, models=["mem128"])
    server = server_for(triton)
    services.refresh_inventory(server)
    _, token = AuthToken.objects.create(user=operator)
    url = f"/api/servers/{server.id}/models/mem128/ensure/"

    with watch() as first:
        warm = post(FAST, url, token)  # unknown token: Django answers, and remembers it
    assert warm.status == 200 and warm.json()["state"] == "READY", warm.body
    assert first.django, "the first call goes through Django"

    triton.stop()  # from FleetDeck's view, not Triton
    plain: list[tuple[bytes, dict[str, str]]] = [
        (b"", {}),
        (b"{}", {}),
        (b"", {"accept": "*/*"}),
        (b"", {"accept": "application/json, text/plain, */*"}),
    ]
    for body, headers in plain:
        with watch() as queries:
            fast = [post(FAST, url, token, body, headers) for _ in range(5)]
        assert queries.django == [], queries.django
        assert len(queries.fast) == 5
        assert set(queries.fast) < set(first.django), "the view's own READY statement"
        django = post(django_asgi_app, url, token, body, headers)
        assert {a.same_shape() for a in fast} == {django.same_shape()} == {warm.same_shape()}
    assert fast[0].json() == {
        "state": "READY",
        "loaded": False,
        "evicted": [],
        "waited_s": fast[0].json()["waited_s"],
        "action_id": None,
        "joined": False,
        "would_evict": [],
        "error": "",
    }


def test_it_leaves_other_requests_to_django(operator, triton_factory, server_for, settings) -> None:
    """wait=false, a timeout, another Accept, read-only mode: Django answers, as it would."""
    triton = triton_factory(REPOSITORY, models=["mem128"])
    server = server_for(triton)
    services.refresh_inventory(server)
    _, token = AuthToken.objects.create(user=operator)
    url = f"/api/servers/{server.id}/models/mem128/ensure/"
    assert post(FAST, url, token).status == 200  # remembered

    for path, body, headers in (
        (url + "?wait=false", b"", {}),
        (url, b'{"timeout": 5}', {}),
        (url, b"", {"accept": "text/plain"}),  # DRF: 406
        (url, b"", {"accept": "application/json; indent=2"}),
        (url, b"", {"cookie": "sessionid=nobody"}),
    ):
        with watch() as queries:
            answer = post(FAST, path, token, body, headers)
        assert queries.fast == [], (path, body, headers)  # not even the READY check
        assert answer.same_shape() == post(django_asgi_app, path, token, body, headers).same_shape()

    settings.FLEET_READ_ONLY = True
    with watch() as queries:
        refused = post(FAST, url, token)
    assert queries.fast == [] and refused.status == 403
    assert refused.same_shape() == post(django_asgi_app, url, token).same_shape()
