"""Timed debug sessions: for one model, for N minutes, Triton logs verbosely
(`/v2/logging` log_verbose_level) and traces every request (`/v2/models/{m}/trace/setting`
trace_rate 1), then everything goes back to what it was.

The session row (DebugSession) records who asked, what was in force before and what was
set, so the revert never depends on a process remembering it: it is scheduled as a task at
the end time (`fleet.tasks.revert_debug_session`, eta), and beat's sweep
(`fleet.tasks.sweep_debug_sessions`) reverts any session past its end that is still active,
which covers a worker that died holding the scheduled task. Reverting twice is harmless (it
writes the same previous settings); the row ends once.

A server without the logging or trace extension gets what it has, the rest noted on the
session; one with neither is refused. Every call carries the server's restricted-API
header (fleet.triton does, for every call).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, TypedDict

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import triton
from ..control.errors import ActionInProgress, InvalidRequest
from ..frames import iso
from ..models import DebugSession, Server

log = logging.getLogger(__name__)

REVERT_TASK = "fleet.tasks.revert_debug_session"  # sent by name: fleet never imports its tasks
VERBOSE_LEVEL = 1
MIN_MINUTES, MAX_MINUTES = 1, 120
# A session whose revert keeps failing (the server is gone) is ended failed after this.
GIVE_UP_AFTER = timedelta(hours=1)
_TRACE_KEYS = ("trace_rate", "trace_level")


class Unsupported(InvalidRequest):
    """The server has neither the logging nor the trace extension."""


class DebugRecord(TypedDict):
    """The one wire format of a debug session: the API's answer and the page's data."""

    id: int
    server: int
    model: str
    state: str
    requested_by: str | None
    started_at: str
    ends_at: str
    previous: dict[str, Any]
    applied: dict[str, Any]
    notes: str
    reverted_at: str | None
    reverted_by: str
    revert_error: str


def serialize(session: DebugSession) -> DebugRecord:
    return {
        "id": session.id,
        "server": session.server_id,
        "model": session.model,
        "state": session.state,
        "requested_by": session.requested_by.username if session.requested_by else None,
        "started_at": iso(session.started_at) or "",
        "ends_at": iso(session.ends_at) or "",
        "previous": session.previous,
        "applied": session.applied,
        "notes": session.notes,
        "reverted_at": iso(session.reverted_at),
        "reverted_by": session.reverted_by,
        "revert_error": session.revert_error,
    }


def start(server: Server, name: str, user: Any, minutes: int) -> DebugSession:
    """Raise the server's log verbosity and the model's trace rate for `minutes`; record the
    session with what was in force before; schedule the revert. Callers pass the control gate."""
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InvalidRequest(f"minutes must be {MIN_MINUTES} to {MAX_MINUTES}, not {minutes}")
    extensions = set(triton.server_metadata(server).get("extensions") or [])
    notes = [f"{server.name} has no {ext} extension" for ext in ("logging", "trace") if ext not in extensions]
    if len(notes) == 2:
        raise Unsupported(f"{server.name} has neither the logging nor the trace extension: nothing to raise")
    previous: dict[str, Any] = {}
    others = DebugSession.objects.filter(server=server, state=DebugSession.State.ACTIVE).exclude(model=name)
    if "logging" in extensions:
        # Verbosity is the server's, not the model's: a session that starts while another is
        # active on the server keeps the level from before the first one.
        earlier = next((o.previous["logging"] for o in others if "logging" in o.previous), None)
        previous["logging"] = earlier or {
            "log_verbose_level": triton.log_settings(server).get("log_verbose_level", 0)
        }
    if "trace" in extensions:
        own = triton.trace_settings(server, name)
        shared = triton.trace_settings(server, "")
        # A model without settings of its own follows the global ones: reverting clears its
        # own (None) instead of pinning today's global values on it.
        previous["trace"] = {k: (own.get(k) if own.get(k) != shared.get(k) else None) for k in _TRACE_KEYS}
        previous["trace_file"] = own.get("trace_file", "")
    now = timezone.now()
    try:
        with transaction.atomic():
            session = DebugSession.objects.create(
                server=server,
                model=name,
                requested_by=user if getattr(user, "pk", None) else None,
                ends_at=now + timedelta(minutes=minutes),
                previous=previous,
                notes="; ".join(notes),
            )
    except IntegrityError:
        active = DebugSession.objects.filter(
            server=server, model=name, state=DebugSession.State.ACTIVE
        ).first()
        raise ActionInProgress(
            f"debug session #{active.id if active else '?'} on {name} is active until "
            f"{iso(active.ends_at) if active else '?'}; revert it first",
            None,
        ) from None
    log.info("debug session %s: %s raises logging and tracing of %s on %s for %d min", session.id,
             getattr(user, "username", "-"), name, server.name, minutes)  # fmt: skip
    try:
        applied = _apply(server, name, previous)
    except triton.TritonError as exc:
        _restore(session)  # what did get set goes back at once
        DebugSession.objects.filter(id=session.id).update(
            state=DebugSession.State.FAILED,
            revert_error=f"could not start: {exc}",
            reverted_at=timezone.now(),
        )
        raise
    DebugSession.objects.filter(id=session.id).update(applied=applied)
    transaction.on_commit(lambda: schedule(session.id, session.ends_at))
    session.refresh_from_db()
    return session


def _apply(server: Server, name: str, previous: dict[str, Any]) -> dict[str, Any]:
    applied: dict[str, Any] = {}
    if "logging" in previous:
        answer = triton.update_log_settings(server, {"log_verbose_level": VERBOSE_LEVEL})
        applied["logging"] = {"log_verbose_level": answer.get("log_verbose_level")}
    if "trace" in previous:
        changes: dict[str, Any] = {"trace_rate": "1"}
        # Triton refuses a trace level while no trace file is configured (it has nowhere to
        # write): then the rate is set and the level left as it is.
        if previous.get("trace_file"):
            changes["trace_level"] = ["TIMESTAMPS"]
        answer = triton.update_trace_settings(server, name, changes)
        applied["trace"] = {k: answer.get(k) for k in _TRACE_KEYS}
    return applied


def schedule(session_id: int, at: datetime) -> None:
    """Send the revert task for the session's end (the sweep covers a lost message)."""
    try:
        current_app.signature(REVERT_TASK, args=(session_id,)).apply_async(eta=at)
    except Exception:  # broker down: the sweep reverts it
        log.exception("could not schedule the revert of debug session %s; the sweep will", session_id)


def _restore(session: DebugSession) -> None:
    previous = session.previous
    others = DebugSession.objects.filter(server=session.server, state=DebugSession.State.ACTIVE)
    # The last session active on the server puts its verbosity back.
    if "logging" in previous and not others.exclude(id=session.id).exists():
        triton.update_log_settings(session.server, previous["logging"])
    if "trace" in previous:
        triton.update_trace_settings(session.server, session.model, previous["trace"])


def revert(session_id: int, by: str, now: datetime | None = None, early: bool = False) -> bool:
    """Put back what the session changed, once it is due (or at once with `early`); returns
    whether this call ended it. Safe to run twice."""
    now = now or timezone.now()
    session = DebugSession.objects.select_related("server").filter(id=session_id).first()
    if session is None or session.state != DebugSession.State.ACTIVE:
        return False
    if session.ends_at > now and not early:
        schedule(session.id, session.ends_at)  # delivered early (a clock, a retry): later
        return False
    try:
        _restore(session)
    except triton.TritonError as exc:
        give_up = now - session.ends_at > GIVE_UP_AFTER
        state = DebugSession.State.FAILED if give_up else DebugSession.State.ACTIVE
        DebugSession.objects.filter(id=session.id, state=DebugSession.State.ACTIVE).update(
            state=state, revert_error=str(exc)[:2000]
        )
        log.warning(
            "debug session %s: revert failed (%s)%s", session.id, exc, "; given up" if give_up else ""
        )
        return False
    ended = DebugSession.objects.filter(id=session.id, state=DebugSession.State.ACTIVE).update(
        state=DebugSession.State.REVERTED, reverted_at=timezone.now(), reverted_by=by[:150], revert_error=""
    )
    if ended:
        log.info(
            "debug session %s on %s/%s reverted by %s", session.id, session.server.name, session.model, by
        )
    return bool(ended)


def sweep(now: datetime | None = None) -> int:
    """Revert every active session past its end (beat); returns how many ended."""
    now = now or timezone.now()
    due = DebugSession.objects.filter(state=DebugSession.State.ACTIVE, ends_at__lte=now)
    ended = 0
    for session_id in due.values_list("id", flat=True):
        try:
            ended += revert(session_id, "sweep", now)
        except Exception:  # one session's failure never stops the round
            log.exception("sweeping debug session %s failed; next round", session_id)
    return ended
