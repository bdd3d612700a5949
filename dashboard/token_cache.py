"""API tokens that passed the ensure view's checks lately, for the fast path in front of it.

Filled once a request passed knox's token authentication, the route's row of the access
table and the control gate's role check: by dashboard.api_autopilot.EnsureModel, and by
dashboard.fast_ensure.renew, which calls those same functions again half-way through an
entry's life while its token keeps calling (so a busy token never falls back to Django).
Per process, keyed by knox's digest of the token (the token itself is never kept).

An entry lives FLEET_ENSURE_AUTH_TTL seconds after its last check, never past the token's
own expiry. In this
process a revoked token (its row deleted) and a user whose role, flags or password changed
are dropped at once (dashboard/signals.py); a change made in another process is seen when
the entry runs out. A generation counter, bumped by every drop, keeps a request that read
the user's groups before a change from filling the cache after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

MOST = 10_000  # entries; past it the cache is emptied (each caller's next call refills it)
_EPOCH_ATTR = "_fleet_token_epoch"


@dataclass(frozen=True)
class Entry:
    user_id: int
    until: float  # time.monotonic(): the end of the TTL
    renew_after: float  # time.monotonic(): half-way, the fast path checks it again
    expires: float | None  # time.time(): the token's own expiry


_entries: dict[str, Entry] = {}
_lock = threading.Lock()  # writers only: a dict read is atomic
_epoch = 0


def epoch() -> int:
    return _epoch


def mark_authenticated(auth_token: Any, before: int) -> None:
    """Note the generation read before the token, its user and their groups were read
    (knox's authentication in dashboard.auth)."""
    setattr(auth_token, _EPOCH_ATTR, before)


def remember(auth_token: Any, user: Any) -> None:
    """The Django view authorized this token to control models: keep it for the TTL,
    unless something was dropped since its user was read."""
    ttl = float(settings.FLEET_ENSURE_AUTH_TTL)
    if ttl <= 0:
        return
    expiry = auth_token.expiry.timestamp() if auth_token.expiry is not None else None
    now = time.monotonic()
    entry = Entry(user.pk, now + ttl, now + ttl / 2, expiry)
    with _lock:
        if getattr(auth_token, _EPOCH_ATTR, None) != _epoch:
            return
        if len(_entries) >= MOST:
            _entries.clear()
        _entries[auth_token.digest] = entry


def known(digest: str) -> tuple[int, bool] | None:
    """(user id, whether to check it again now) for a token authorized within the TTL and
    not expired; None otherwise."""
    entry = _entries.get(digest)
    if entry is None:
        return None
    now = time.monotonic()
    if now >= entry.until or (entry.expires is not None and time.time() >= entry.expires):
        with _lock:
            _entries.pop(digest, None)
        return None
    return entry.user_id, now >= entry.renew_after


def forget_token(digest: str) -> None:
    global _epoch
    with _lock:
        _epoch += 1
        _entries.pop(digest, None)


def forget_users(user_ids: Iterable[Any]) -> None:
    global _epoch
    gone = set(user_ids)
    with _lock:
        _epoch += 1
        for digest in [d for d, e in _entries.items() if e.user_id in gone]:
            del _entries[digest]


def forget_all() -> None:
    global _epoch
    with _lock:
        _epoch += 1
        _entries.clear()
