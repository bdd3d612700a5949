"""The fast ensure path's database connection killed under it (PostgreSQL restarted, an
idle connection cut): that call is answered by Django, and the next one by the fast path
again on a fresh connection."""

import pytest
from django.db import connection
from knox.models import AuthToken

from dashboard.fast_ensure import run_on_executor
from fleet.models import ModelVersion, Server
from tests.fast_ensure_support import FAST, fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


def fast_backend_pid() -> int:
    def pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    return int(run_on_executor(pid))


def test_it_falls_back_then_reconnects(operator) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("kills a PostgreSQL backend")
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="ranker", version="1", state=ModelVersion.State.READY)
    url = f"/api/servers/{server.id}/models/ranker/ensure/"
    _, token = AuthToken.objects.create(user=operator)
    assert post(FAST, url, token).status == 200  # Django: remembered
    assert post(FAST, url, token).status == 200  # the fast path's connection is open now

    killed = fast_backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [killed])
    with watch() as queries:
        answer = post(FAST, url, token)
    assert answer.status == 200 and answer.json()["state"] == "READY"
    assert queries.django, "the call whose READY check failed went to Django"

    with watch() as queries:
        assert post(FAST, url, token).status == 200
    assert queries.django == [] and len(queries.fast) == 1
    assert fast_backend_pid() != killed
