"""The fast ensure path stops answering for a token once Django would refuse it: a revoked
token and a user whose role was taken away at once (the change's signal, in this process),
an expired token at its expiry, and a role taken away where no signal tells this process
within FLEET_ENSURE_AUTH_TTL. Each then gets Django's own refusal."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from knox.models import AuthToken

from config.asgi import django_asgi_app
from fleet.models import ModelVersion, Server
from tests.fast_ensure_support import FAST, fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


@pytest.fixture
def url(db: None) -> str:
    # Only the fast path's own decisions are at stake here: a READY row is enough (the
    # answers from a real Triton are tests/dashboard/test_ensure_fast_path_answers_ready.py).
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="ranker", version="1", state=ModelVersion.State.READY)
    return f"/api/servers/{server.id}/models/ranker/ensure/"


def answered_fast(url: str, token: str) -> bool:
    with watch() as queries:
        answer = post(FAST, url, token)
    assert answer.status == 200, answer.body
    return not queries.django


def refused_like_django(url: str, token: str, status: int) -> None:
    answer = post(FAST, url, token)
    assert answer.status == status, answer.body
    assert answer.same_shape() == post(django_asgi_app, url, token).same_shape()


def test_it_forgets_a_revoked_token_at_once(operator, url) -> None:
    row, token = AuthToken.objects.create(user=operator)
    post(FAST, url, token)
    assert answered_fast(url, token)
    row.delete()  # as knox's logout and the tokens API do
    refused_like_django(url, token, 401)


def test_it_forgets_an_expired_token_at_its_expiry(operator, url, settings) -> None:
    settings.FLEET_ENSURE_AUTH_TTL = 60
    _, token = AuthToken.objects.create(user=operator, expiry=timedelta(seconds=1.5))
    post(FAST, url, token)
    assert answered_fast(url, token)
    time.sleep(1.6)
    refused_like_django(url, token, 401)


def test_it_forgets_a_lost_role_at_once_in_this_process(operator, url) -> None:
    _, token = AuthToken.objects.create(user=operator)
    post(FAST, url, token)
    assert answered_fast(url, token)
    operator.groups.remove(Group.objects.get(name="operator"))
    refused_like_django(url, token, 403)


def test_it_refuses_a_lost_role_within_the_ttl(operator, url, settings) -> None:
    settings.FLEET_ENSURE_AUTH_TTL = 1.0
    _, token = AuthToken.objects.create(user=operator)
    post(FAST, url, token)
    assert answered_fast(url, token)
    # As another process would (no signal reaches this one): the membership row goes.
    User.groups.through.objects.filter(user_id=operator.id).delete()
    started = time.monotonic()
    while post(FAST, url, token).status == 200:
        assert time.monotonic() - started < 1.0 + 0.5, "still answered past the TTL"
        time.sleep(0.05)
    refused_like_django(url, token, 403)


def test_it_refuses_a_deactivated_user(operator: Any, url: str) -> None:
    _, token = AuthToken.objects.create(user=operator)
    post(FAST, url, token)
    assert answered_fast(url, token)
    operator.is_active = False
    operator.save()
    refused_like_django(url, token, 401)
