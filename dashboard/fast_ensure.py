"""The READY answer of ensure-loaded, in front of Django (config/asgi.py wraps the HTTP app).

`POST /api/servers/{id}/models/{name}/ensure/` sits on the request path of every client that
calls it before its inferences; through Django and DRF a READY answer costs five queries and
~3 ms of CPU. This handler answers it with one query shared by the callers of the moment and
no Django request (~0.1 ms of the web process's CPU under uvicorn, docs/benchmarks.md), but
only when it can be sure that Django would give the same answer:

- the caller presents `Authorization: Bearer <token>` and the token is in
  dashboard.token_cache: it passed the view's checks (knox, the access table's row, the
  control gate's role check) within FLEET_ENSURE_AUTH_TTL seconds, and has not expired.
  The Django view fills the cache; half-way through an entry's life `renew` calls the same
  checks again in the background, so a token that keeps calling stays on the fast path;
- FleetDeck is not read-only, the model's name is plain, and the view's own READY check
  (fleet.autopilot.ensure: the inventory's READY row and no action queued or running, the
  one source of truth, one query, its statement built once per process) says READY in a
  check that began after the call arrived (callers of one model at once share one: `_ready`);
- the request is the plain one: no query string, an empty body or `{}`, JSON accepted, no
  cookie, a host in ALLOWED_HOSTS, nothing SECURE_SSL_REDIRECT would redirect.

Anything else, an error included, goes to Django unchanged (the body read here is handed on),
which answers it and, for a token it authorizes, fills the cache. The answer is the view's
EnsureRecord through DRF's JSON renderer, with the headers Django's middleware adds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection
from django.http.request import split_domain_port, validate_host
from knox.crypto import hash_token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from fleet.autopilot.ensure import Ensured, ready_now_by_id
from fleet.control import gate
from fleet.control.errors import NotPermitted
from fleet.control.requests import is_plain_model_name

from . import access, token_cache
from .auth import BearerTokenAuthentication

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Any, Any, Any], Awaitable[None]]  # Django's handler types its arguments its own way

PATH = re.compile(r"/api/servers/([0-9]{1,18})/models/([^/]+)/ensure/")
MOST_BODY = 1024  # a larger body is not the plain request: Django reads it
JSON_WILDCARDS = {b"*/*", b"application/*"}
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]  # Django's own, with DEBUG and no ALLOWED_HOSTS

ROUTE = "api-model-ensure"  # its row of the access table

# One thread, one database connection, for the READY query and the tokens' renewals: the
# event loop never blocks on the database, and the fast path never holds more than one
# connection.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fast-ensure")
_renewing: set[str] = set()  # digests being checked again (the event loop's thread only)


def check_ready(server_id: int, name: str) -> bool:
    """ready_now_by_id on the executor's thread; False (Django answers) on any database error,
    closing the connection so that the next call opens a fresh one."""
    try:
        return ready_now_by_id(server_id, name)
    except Exception:
        log.warning("fast ensure: the READY check failed; Django answers", exc_info=True)
        _close_connection()
        return False


def _close_connection() -> None:
    try:
        connection.close()
    except Exception:  # already broken: a new one is opened on the next call
        log.debug("closing the fast path's connection failed", exc_info=True)


# Callers of one (server, model) share READY checks: a caller joins the next check that has
# not begun yet, so its answer is read after it arrived, as if it had run its own; with 50
# callers at once, one query answers most of them instead of each waiting its turn on the
# one thread (~1 ms each: ~1,000 answers/s in all, whatever the HTTP server).
_next: dict[tuple[int, str], asyncio.Future[bool]] = {}  # not begun: new callers join it
_under_way: dict[tuple[int, str], asyncio.Future[bool]] = {}  # begun: too late to join


async def _ready(key: tuple[int, str]) -> bool:
    joined = _next.get(key)
    if joined is None:
        joined = _next[key] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().create_task(_check(key, joined))
    return await asyncio.shield(joined)


async def _check(key: tuple[int, str], result: asyncio.Future[bool]) -> None:
    before = _under_way.get(key)
    if before is not None:
        await asyncio.wait([before])  # one check of a key at a time: the next starts after
    del _next[key]  # from here on, a new caller waits for a later check
    _under_way[key] = result
    ready = False  # cancelled (the loop shutting down): Django answers the joined callers
    try:
        ready = await asyncio.get_running_loop().run_in_executor(_executor, check_ready, *key)
    finally:
        result.set_result(ready)
        if _under_way.get(key) is result:
            del _under_way[key]


def run_on_executor(fn: Callable[[], Any]) -> Any:
    """Run `fn` on the fast path's database thread (tests use it to watch that thread's
    connection, and to close it)."""
    return _executor.submit(fn).result()


class EnsureFastPath:
    """ASGI middleware: answers a READY ensure itself when sure, else calls `app`."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if (
            match is None
            or scope.get("method") != "POST"
            or scope.get("query_string")
            or scope.get("root_path")
            or settings.FLEET_ENSURE_AUTH_TTL <= 0
        ):
            await self.app(scope, receive, send)
            return
        messages, body, complete = await _read_body(receive)
        answer: tuple[list[tuple[bytes, bytes]], bytes] | None = None
        if complete:
            try:
                answer = await self._answer(scope, match, body)
            except Exception:
                log.warning("fast ensure failed; Django answers", exc_info=True)
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        headers, content = answer
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _answer(
        self, scope: Scope, match: re.Match[str], body: bytes
    ) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        if settings.FLEET_READ_ONLY:
            return None
        headers: dict[bytes, bytes] = {}
        for key, value in scope.get("headers", []):
            key = key.lower()
            if key in headers:  # a header given twice: leave the reading of it to Django
                return None
            headers[key] = value
        secure = _secure(scope, headers)
        if not _plain(headers, body) or not _host_allowed(headers) or secure is None:
            return None
        name = match.group(2)
        if not _authorized(headers) or not is_plain_model_name(name):
            return None
        started = time.monotonic()
        if not await _ready((int(match.group(1)), name)):
            return None
        record = Ensured("READY", waited_s=time.monotonic() - started).record()
        content = JSONRenderer().render(record)
        return _headers(len(content), secure), content


async def _read_body(receive: Receive) -> tuple[list[Message], bytes, bool]:
    """The messages read (to hand on), the body, and whether it was read whole and small."""
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, body, False  # a disconnect: Django sees it too
        body += message.get("body", b"")
        if len(body) > MOST_BODY:
            return messages, body, False
        if not message.get("more_body", False):
            return messages, body, True


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _plain(headers: dict[bytes, bytes], body: bytes) -> bool:
    """No parameters (Django reads `wait` and `timeout` from the body), JSON the answer's
    format, no cookie (a browser's session: Django's middleware may answer it otherwise)."""
    if not _json_accepted(headers.get(b"accept", b"")):
        return False
    if b"cookie" in headers or settings.DISALLOWED_USER_AGENTS:
        return False
    stripped = body.strip()
    if not stripped:
        return True
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return stripped == b"{}" and content_type == b"application/json"


def _json_accepted(accept: bytes) -> bool:
    """Whether DRF's negotiation picks its JSON renderer (the first of the default ones)
    for this Accept: none given, application/json among the types given, or only wildcards
    that JSON matches; any parameter (a q-value, `indent`) is left to DRF."""
    if api_settings.DEFAULT_RENDERER_CLASSES[:1] != [JSONRenderer]:
        return False
    given = [item.strip() for item in accept.split(b",") if item.strip()]
    if any(b";" in item for item in given):
        return False
    return not given or b"application/json" in given or all(item in JSON_WILDCARDS for item in given)


def _host_allowed(headers: dict[bytes, bytes]) -> bool:
    """Django's ALLOWED_HOSTS check (CommonMiddleware answers 400 to any other host)."""
    host = headers.get(b"host")
    if host is None or settings.USE_X_FORWARDED_HOST:
        return False
    domain, _ = split_domain_port(host.decode("latin-1"))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = DEBUG_HOSTS
    return bool(domain) and validate_host(domain, allowed)


def _secure(scope: Scope, headers: dict[bytes, bytes]) -> bool | None:
    """Whether Django sees the request as https; None where SecurityMiddleware would
    redirect it to https instead of answering."""
    secure = scope.get("scheme") == "https"
    if settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        given = headers.get(header.removeprefix("HTTP_").replace("_", "-").lower().encode())
        if given is not None:
            secure = given.decode("latin-1").split(",", 1)[0].strip() == value
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None
    return secure


def _authorized(headers: dict[bytes, bytes]) -> bool:
    """Whether the Bearer token (knox's parsing: the prefix in any case, then exactly one
    token) passed the view's checks within the TTL. Half-way through the TTL the checks run
    again, off the request path, once at a time per token."""
    parts = headers.get(b"authorization", b"").split()
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return False
    try:
        token = parts[1].decode("ascii")
        digest = hash_token(token)
    except (UnicodeDecodeError, ValueError, TypeError):
        return False
    known = token_cache.known(digest)
    if known is None:
        return False
    if known[1] and digest not in _renewing:
        _renewing.add(digest)
        renewal = asyncio.get_running_loop().run_in_executor(_executor, renew, token)
        renewal.add_done_callback(lambda _: _renewing.discard(digest))
    return True


def renew(token: str) -> None:
    """The ensure view's own checks of a token, on the executor's thread: knox's
    authentication, the route's row of the access table, the control gate's role check.
    The token is remembered again if it passes, forgotten otherwise (Django then answers
    its next call, with the refusal)."""
    try:
        user, auth_token = BearerTokenAuthentication().authenticate_credentials(token.encode())
        if access.refusal(access.rule_for(ROUTE), user, "POST") is not None:
            raise NotPermitted(access.forbidden_message(user, access.rule_for(ROUTE)))
        gate.check_role(user)
    except (AuthenticationFailed, NotPermitted):
        token_cache.forget_token(hash_token(token))
        return
    except Exception:
        log.warning("fast ensure: renewing a token failed; Django answers its next call", exc_info=True)
        token_cache.forget_token(hash_token(token))
        _close_connection()
        return
    token_cache.remember(auth_token, user)


def _headers(length: int, secure: bool) -> list[tuple[bytes, bytes]]:
    """What Django's answer carries: DRF's content type and Vary, the view's Allow, and
    SecurityMiddleware's and XFrameOptionsMiddleware's headers."""
    headers = [
        (b"content-type", b"application/json"),
        (b"vary", b"Accept"),
        (b"allow", b"POST, OPTIONS"),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
        (b"content-length", str(length).encode()),
    ]
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"strict-transport-security", hsts.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:  # SecurityMiddleware takes a comma-separated string or a list
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else list(policy)
        headers.append((b"referrer-policy", ",".join(values).encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    return headers
