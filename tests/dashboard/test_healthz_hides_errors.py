"""/healthz is public: a database failure is a 503 that names no host, user or query."""

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_answers_503_without_the_database_error_text(monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        # A fault the real database cannot be made to produce inside a test transaction.
        raise OperationalError('password authentication failed for user "fleet-secret-user"')

    monkeypatch.setattr("django.db.backends.base.base.BaseDatabaseWrapper.cursor", refuse)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert b"fleet-secret-user" not in response.content
    assert response.content == b"database unavailable"
