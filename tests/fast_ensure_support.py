"""Calling the ASGI apps in this process, to compare the fast ensure path with Django's, and
watching every database query either makes (Django's request threads and the fast path's
own thread alike)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.db.backends.signals import connection_created

from config.asgi import application
from dashboard import token_cache
from dashboard.fast_ensure import run_on_executor

FAST = application  # as the web process runs it: the fast path in front of Django's HTTP app
FAST_THREAD = "fast-ensure"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def same_shape(self) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        """Everything but the time ensure took (waited_s) and the length that follows it."""
        headers = tuple(sorted((k, v) for k, v in self.headers.items() if k != "content-length"))
        return self.status, headers, re.sub(rb'("waited_s": ?)[0-9.e-]+', rb"\g<1>0", self.body)


def post(
    app: Any, path: str, token: str | None, body: bytes = b"", headers: dict[str, str] | None = None
) -> Answer:
    """One POST through `app` (FAST, or django_asgi_app alone), as the HTTP server would hand it on."""
    return async_to_sync(apost)(app, path, token, body, headers)


async def apost(
    app: Any, path: str, token: str | None, body: bytes = b"", headers: dict[str, str] | None = None
) -> Answer:
    """`post` in the caller's event loop, so that several can run at once."""
    sent: list[dict[str, Any]] = []
    given = [(b"host", b"localhost")]
    if token is not None:
        given.append((b"authorization", f"Bearer {token}".encode()))
    if body:
        given.append((b"content-type", b"application/json"))
    given += [(k.replace("_", "-").encode(), v.encode()) for k, v in (headers or {}).items()]
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": given,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    requested = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # the client stays connected until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    names = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Answer(start["status"], names, content)


@dataclass
class Queries:
    """SQL run during a `watch`, by the thread that ran it."""

    django: list[str] = field(default_factory=list)
    fast: list[str] = field(default_factory=list)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        thread = threading.current_thread().name
        (self.fast if thread.startswith(FAST_THREAD) else self.django).append(sql)
        return execute(sql, params, many, context)


@contextmanager
def watch() -> Iterator[Queries]:
    """Every query of every connection: the fast path's thread's, this thread's (where Django
    runs a view called from here) and each new one that other threads open."""
    queries = Queries()
    connection.execute_wrappers.append(queries)

    def hook(sender: Any, connection: Any, **kwargs: Any) -> None:
        if queries not in connection.execute_wrappers:
            connection.execute_wrappers.append(queries)

    run_on_executor(lambda: connection.execute_wrappers.append(queries))
    connection_created.connect(hook)
    try:
        yield queries
    finally:
        connection_created.disconnect(hook)
        run_on_executor(lambda: connection.execute_wrappers.remove(queries))
        if queries in connection.execute_wrappers:
            connection.execute_wrappers.remove(queries)


@pytest.fixture
def fresh_fast_path() -> Iterator[None]:
    """No token remembered from another test; the fast path's thread's connection closed
    after (it keeps it, and the test database is dropped at the end)."""
    token_cache.forget_all()
    yield
    run_on_executor(lambda: connection.close())  # that thread's connection, not this one's
