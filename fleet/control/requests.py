"""Requests for actions: validate, log, record and enqueue.

The database allows one queued or running action per (server, model); the task is sent
by name on commit, so this package never imports `fleet.tasks`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from celery import current_app
from django.db import IntegrityError, transaction

from .. import services
from ..models import Action, ModelVersion, Server
from . import record
from .errors import ActionInProgress, ConfirmationRequired, InvalidRequest, ModelNotInRepository
from .traffic import served_recently

log = logging.getLogger(__name__)

# The Celery task that runs an action (fleet/tasks.py registers it under this name).
RUN_ACTION_TASK = "fleet.tasks.run_action"

# Triton names a model after its directory; FleetDeck accepts only plain names so that a
# name can never reach outside the repository or change the meaning of a URL.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")


def is_plain_model_name(name: str) -> bool:
    return bool(_MODEL_NAME.fullmatch(name)) and ".." not in name


def model_in_repository(server: Server, name: str) -> bool:
    """Whether the model is in the server's repository index (read-only; safe before
    permission checks). A model added since the last inventory triggers one refresh."""
    if not is_plain_model_name(name):
        return False
    if ModelVersion.objects.filter(server=server, name=name).exists():
        return True
    services.refresh_inventory(server)
    return ModelVersion.objects.filter(server=server, name=name).exists()


def last_promotion(server: Server, name: str) -> Action | None:
    return (
        Action.objects.filter(
            server=server,
            model=name,
            kind=Action.Kind.PROMOTE,
            state=Action.State.SUCCEEDED,
            parameters__has_key="previous_policy",
        )
        .order_by("-finished_at")
        .first()
    )


def request_action(
    server: Server,
    name: str,
    kind: str,
    user: Any,
    *,
    version: int | None = None,
    confirm: bool = False,
    unload_dependents: bool = False,
    extra: dict[str, Any] | None = None,
) -> Action:
    """Validate, log, record and enqueue one action; return the queued row.

    Callers (API, HTML form, CLI) pass `gate.check_control` first (read-only mode, the
    server, the user's role). Raises InvalidRequest, ModelNotInRepository,
    ConfirmationRequired or ActionInProgress before anything is enqueued. `extra` goes into
    the action's parameters as given (the autopilot's reason, the evictions a load waits for).
    """
    if kind not in Action.Kind.values:
        raise InvalidRequest(f"unknown action {kind!r}")
    if not is_plain_model_name(name):
        raise InvalidRequest(f"{name!r} is not a plain model name")
    if not model_in_repository(server, name):
        raise ModelNotInRepository(f"no model {name!r} in the repository of {server.name}")
    parameters: dict[str, Any] = {}
    if kind == Action.Kind.PROMOTE:
        if version is None or version < 1:
            raise InvalidRequest("promote needs a version: a positive integer")
        parameters["version"] = version
    elif kind == Action.Kind.ROLLBACK:
        promotion = last_promotion(server, name)
        if promotion is None:
            raise InvalidRequest(f"nothing to roll back: {name} was never promoted on {server.name}")
        parameters.update(
            promotion=promotion.id,
            version_policy=promotion.parameters["previous_policy"],
            versions=promotion.parameters.get("previous_versions", []),
        )
    elif kind == Action.Kind.UNLOAD:
        parameters["unload_dependents"] = unload_dependents
        if not confirm:
            why = served_recently(server, name)
            if why:
                raise ConfirmationRequired(f"{name} on {server.name}: {why}; confirm to unload it")
        parameters["confirmed"] = confirm
    parameters.update(extra or {})

    username = getattr(user, "username", None) or "-"
    log.info("control request: %s asks to %s %s on %s %s", username, kind, name, server.name, parameters)
    try:
        with transaction.atomic():
            action = Action.objects.create(
                kind=kind,
                server=server,
                model=name,
                parameters=parameters,
                requested_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError:
        active = Action.objects.filter(server=server, model=name, state__in=Action.ACTIVE_STATES).first()
        if active is None:  # it ended between our insert and this read
            raise ActionInProgress(f"another action on {name} just ended; try again", None) from None
        who = active.requested_by.username if active.requested_by else "-"
        raise ActionInProgress(
            f"action #{active.id} ({active.kind} {name}, {active.state}, requested by {who}) "
            f"is in progress on {server.name}",
            active,
        ) from None
    transaction.on_commit(lambda: enqueue(action.id))
    return action


def enqueue(action_id: int) -> None:
    """Send the run task (by name: see RUN_ACTION_TASK) and broadcast the queued row."""
    try:
        current_app.signature(RUN_ACTION_TASK, args=(action_id,)).delay()
    except Exception as exc:  # broker down: free the model instead of leaving it queued
        log.exception("could not enqueue action %s", action_id)
        record.finish(
            action_id, Action.State.FAILED, error=f"could not enqueue: {exc}", from_states=["queued"]
        )
        return
    record.publish(action_id)
