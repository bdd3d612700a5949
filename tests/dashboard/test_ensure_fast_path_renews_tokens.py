"""A token that keeps calling stays on the fast path past FLEET_ENSURE_AUTH_TTL: half-way
through, the view's own checks (knox, the access table's row of the ensure route, the gate's
role check) run again on the fast path's thread, so no call falls back to Django."""

import time

import pytest
from django.urls import resolve
from knox.models import AuthToken

from dashboard import fast_ensure
from fleet.models import ModelVersion, Server
from tests.fast_ensure_support import FAST, fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


def test_it_renews_a_busy_token_off_the_request_path(operator, settings) -> None:
    settings.FLEET_ENSURE_AUTH_TTL = 1.0
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="ranker", version="1", state=ModelVersion.State.READY)
    url = f"/api/servers/{server.id}/models/ranker/ensure/"
    assert resolve(url).view_name == fast_ensure.ROUTE  # the row renew() checks
    _, token = AuthToken.objects.create(user=operator)
    assert post(FAST, url, token).status == 200  # Django: remembered

    with watch() as queries:
        ended = time.monotonic() + 3.0  # three TTLs
        while time.monotonic() < ended:
            assert post(FAST, url, token).status == 200
            time.sleep(0.05)
    assert queries.django == [], "no call fell back to Django"
    renewals = [sql for sql in queries.fast if "knox_authtoken" in sql]
    assert 2 <= len(renewals) <= 8, renewals  # about every half TTL, one at a time
