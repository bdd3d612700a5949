"""Ensure of a model FleetDeck's view shows READY sits on every client's request path: it is
answered from that view, without asking Triton (the server here answers nothing), in a
bounded number of database round trips, whoever calls."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fleet.models import ModelVersion, Server
from tests.conftest import client_for

# The token (knox), the caller's groups (once, shared by the route's rule and the gate), the
# server, the repository check, READY-and-no-action-under-way.
MOST_QUERIES = 5


@pytest.fixture
def server(db: None) -> Server:
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")  # nothing listens
    ModelVersion.objects.create(server=server, name="ranker", version="1", state=ModelVersion.State.READY)
    return server


def test_it_answers_ready_from_the_view_in_few_queries(operator, server) -> None:
    otto = client_for(operator)
    url = f"/api/servers/{server.id}/models/ranker/ensure/"
    otto.post(url)  # the first call may warm per-process caches

    with CaptureQueriesContext(connection) as queries:
        answer = otto.post(url)

    assert answer.status_code == 200, answer.content
    assert (answer.json()["state"], answer.json()["loaded"]) == ("READY", False)
    assert len(queries) <= MOST_QUERIES, "\n".join(q["sql"][:160] for q in queries.captured_queries)
