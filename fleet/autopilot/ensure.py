"""Ensure-loaded: the model is READY when this returns, loaded (after evictions) if need be.

- A model the cached view (the inventory mirror) shows READY, with no action on it, is
  answered from the database alone: no Triton round trip on a client's request path.
- Otherwise one planner per server at a time (the server's row lock) decides: join the
  model's running load (the one-action-per-model lock makes a second load impossible, so
  concurrent callers share one), or plan evictions under the budget and request them and
  the load as actions of the autopilot user, each with its reason. The load's runner runs
  the evictions first (fleet/control/evict.py).
- A model that fits nowhere, even with every unpinned model evicted, is refused
  (DoesNotFit, HTTP 507) and nothing is evicted. A load that fails after evictions reports
  both; the evicted models stay unloaded (reloading them is the caller's choice).
- In dry-run mode the evictions are only reported (`would_evict`) and the load goes ahead.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, QuerySet

from ..control.ended import wait as wait_ended
from ..control.errors import ActionError, ActionInProgress
from ..control.requests import request_action
from ..models import Action, ModelVersion, Server
from . import budget, policy

AUTOPILOT = "autopilot"  # the system user every autopilot decision is requested by


class DoesNotFit(ActionError):
    """Even evicting every unpinned model would not make room (HTTP 507)."""

    def __init__(self, message: str, numbers: dict[str, int | None]) -> None:
        super().__init__(message)
        self.numbers = numbers


class EnsureRecord(TypedDict):
    """The answer of ensure, in the API and the CLI."""

    state: str  # READY, queued, running (not waited for), FAILED
    loaded: bool  # whether this call loaded it
    evicted: list[str]
    waited_s: float
    action_id: int | None  # the load this call requested or joined
    joined: bool  # it joined a load someone else requested
    would_evict: list[str]  # dry run: what the plan would have evicted
    error: str


@dataclass
class Ensured:
    state: str
    loaded: bool = False
    evicted: list[str] = field(default_factory=list)
    waited_s: float = 0.0
    action_id: int | None = None
    joined: bool = False
    would_evict: list[str] = field(default_factory=list)
    error: str = ""

    def record(self) -> EnsureRecord:
        return {
            "state": self.state,
            "loaded": self.loaded,
            "evicted": self.evicted,
            "waited_s": round(self.waited_s, 4),
            "action_id": self.action_id,
            "joined": self.joined,
            "would_evict": self.would_evict,
            "error": self.error,
        }


def autopilot_user() -> Any:
    """The system user that requests the autopilot's actions; it cannot sign in."""
    user, created = get_user_model().objects.get_or_create(username=AUTOPILOT, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _ready(server: Server | int, name: str) -> QuerySet[ModelVersion]:
    """The one definition of a READY answer: READY in the cached view, and no action queued
    or running on the model (one query: this is every client's request path)."""
    ready = ModelVersion.objects.filter(server=server, name=name, state=ModelVersion.State.READY)
    busy = Action.objects.filter(server=server, model=name, state__in=Action.ACTIVE_STATES)
    return ready.filter(~Exists(busy))


def ready_now(server: Server | int, name: str) -> bool:
    return _ready(server, name).exists()


# Stand-ins that no row has, for the statement built once per process below.
_SERVER_ID, _NAME = -(2**62), "\x00model"


@functools.cache
def _statement(vendor: str) -> tuple[str, tuple[Any, ...]]:
    query = _ready(_SERVER_ID, _NAME).query.exists()
    sql, params = query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def ready_now_by_id(server_id: int, name: str) -> bool:
    """ready_now for the fast path in front of Django (dashboard/fast_ensure.py): the same
    statement, which the ORM builds once per process instead of on each call (building
    it took 1.5 ms of CPU, the query itself 0.05 ms)."""
    sql, template = _statement(connection.vendor)
    params = [server_id if p == _SERVER_ID else name if p == _NAME else p for p in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def ensure(
    server: Server, name: str, requester: Any, *, wait: bool = True, timeout: float | None = None
) -> Ensured:
    """Make `name` READY on `server` (see the module's docstring). The gate
    (fleet.control.gate.check_control) comes first: read-only mode, role, repository."""
    started = time.monotonic()
    if ready_now(server, name):
        return Ensured("READY", waited_s=time.monotonic() - started)
    deadline = started + (timeout if timeout is not None else settings.FLEET_ENSURE_WAIT)
    while True:
        try:
            action, created, would = _request(server, name, requester)
        except ActionInProgress as exc:  # a request outside the autopilot won a race
            if exc.action is None or exc.action.model != name:
                if time.monotonic() > deadline:
                    raise
                continue  # an evictee got busy meanwhile: plan again
            action, created, would = exc.action, False, []  # a load of the model: join it
        if action is None:
            return Ensured("READY", waited_s=time.monotonic() - started)
        if action.kind != Action.Kind.UNLOAD:
            break
        # The model is on its way out: once it is gone, load it again.
        if _wait(action.id, deadline) is None:
            return Ensured(
                action.state, waited_s=time.monotonic() - started, action_id=action.id, joined=True
            )
    result = Ensured(action.state, action_id=action.id, joined=not created, would_evict=would)
    if wait:
        ended = _wait(action.id, deadline)
        if ended is not None:
            result.state = "READY" if ended.state == Action.State.SUCCEEDED else "FAILED"
            result.loaded = created and ended.state == Action.State.SUCCEEDED
            result.error = ended.error
            result.evicted = _evicted(ended) if created else []
        else:
            result.state = Action.objects.get(id=action.id).state
    result.waited_s = time.monotonic() - started
    return result


def _request(server: Server, name: str, requester: Any) -> tuple[Action | None, bool, list[str]]:
    """(the load to wait for, whether we requested it, what a dry run would evict); None when
    the model turned READY meanwhile. An unload of the model under way comes back as is."""
    with transaction.atomic():
        # One planner per server: two ensures must not both evict for the same free bytes.
        Server.objects.select_for_update().filter(id=server.id).first()
        active = Action.objects.filter(server=server, model=name, state__in=Action.ACTIVE_STATES).first()
        if active is not None:
            return active, False, []
        if ModelVersion.objects.filter(server=server, name=name, state=ModelVersion.State.READY).exists():
            return None, False, []
        rules = policy.of(server)
        plan = budget.plan(server, rules, name)
        if not plan.fits:
            raise _does_not_fit(name, plan)
        who = getattr(requester, "username", "") or "-"
        bot = autopilot_user()
        why = f"budget {budget.gib(plan.budget)}, needed {budget.gib(plan.need)}"
        evict_ids: list[int] = []
        if not rules.dry_run:
            for holding in plan.evict:
                unload = request_action(
                    server,
                    holding.name,
                    Action.Kind.UNLOAD,
                    bot,
                    confirm=True,
                    extra={"reason": f"evicted for {name}: {why}", "evicted_for": name},
                )
                evict_ids.append(unload.id)
        reason = f"ensure requested by {who}"
        if plan.evict:
            verb = "would evict" if rules.dry_run else "evicting"
            reason += f"; {verb} {', '.join(h.name for h in plan.evict)} ({why})"
        load = request_action(
            server,
            name,
            Action.Kind.LOAD,
            bot,
            extra={"reason": reason, "evict": evict_ids, "requested_for": who},
        )
        return load, True, [h.name for h in plan.evict] if rules.dry_run else []


def _does_not_fit(name: str, plan: budget.Plan) -> DoesNotFit:
    assert plan.budget is not None and plan.need is not None
    room = plan.budget - plan.pinned
    return DoesNotFit(
        f"{name} needs {budget.gib(plan.need)} ({plan.need} bytes) but the budget is "
        f"{budget.gib(plan.budget)} ({plan.budget} bytes) and pinned models hold "
        f"{budget.gib(plan.pinned)} ({plan.pinned} bytes): evicting every unpinned model would "
        f"leave {budget.gib(room)}; nothing was evicted",
        {
            "need_bytes": plan.need,
            "budget_bytes": plan.budget,
            "pinned_bytes": plan.pinned,
            "used_bytes": plan.used,
        },
    )


def _wait(action_id: int, deadline: float) -> Action | None:
    """The action once it ended; None at the deadline. Woken by the runner when the row
    ends (fleet/control/ended.py) rather than reading it every 20 ms."""
    action = wait_ended(action_id, deadline)
    return None if action is not None and action.active else action


def _evicted(load: Action) -> list[str]:
    ids = load.parameters.get("evict") or []
    done = Action.objects.filter(id__in=ids, state=Action.State.SUCCEEDED)
    return sorted(done.values_list("model", flat=True))
