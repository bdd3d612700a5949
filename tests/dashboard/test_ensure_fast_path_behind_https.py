"""Behind a TLS proxy (FLEET_HTTPS's settings): the fast ensure path answers a request the
proxy marks https with Django's HSTS header, and leaves a plain http one to Django, which
redirects it."""

from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from knox.models import AuthToken

from dashboard.fast_ensure import EnsureFastPath
from fleet.models import ModelVersion, Server
from tests.fast_ensure_support import fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


@pytest.fixture(autouse=True)
def _https(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True


def test_it_answers_https_as_django_does(operator) -> None:
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="ranker", version="1", state=ModelVersion.State.READY)
    url = f"/api/servers/{server.id}/models/ranker/ensure/"
    django_asgi_app = ASGIHandler()  # its middleware reads these settings when it is made
    fast_app = EnsureFastPath(django_asgi_app)
    _, token = AuthToken.objects.create(user=operator)
    https = {"x_forwarded_proto": "https"}
    assert post(fast_app, url, token, headers=https).status == 200  # Django: remembered

    with watch() as queries:
        fast = post(fast_app, url, token, headers=https)
    assert queries.django == [] and fast.status == 200
    assert "preload" in fast.headers["strict-transport-security"]
    assert fast.same_shape() == post(django_asgi_app, url, token, headers=https).same_shape()

    with watch() as queries:
        plain = post(fast_app, url, token)
    assert queries.fast == [] and plain.status == 301
    assert plain.same_shape() == post(django_asgi_app, url, token).same_shape()
