"""`manage.py fleet deploy NAME --versions 2` and `manage.py fleet rollout status|pause|resume|abort ID`
(fleet/management/commands/fleet.py hands them here).

deploy changes the deployment's versions (a rollout, as PATCH /api/deployments/{id}/ does)
and waits, printing the timeline and each wave as it goes. Exit status as the command's:
0 succeeded (or nothing to roll), 1 rolled back, aborted or failed, 2 refused, 3 still
running when --timeout ran out.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from .. import roles
from ..control import errors
from ..models import Deployment, Rollout
from . import record, rollout, spec

VERBS = ("status", "pause", "resume", "abort")


def _operator(user: Any) -> None:
    if not roles.is_operator(user):
        raise CommandError(f"{user.username} is not an operator", returncode=2)


def _versions(text: str | None) -> list[int] | str:
    if not text:
        raise CommandError("--versions is needed: 2, 2,3 or latest", returncode=2)
    if text == spec.LATEST:
        return spec.LATEST
    try:
        return spec.versions_of([int(v) for v in text.split(",")])
    except (ValueError, errors.ActionError) as exc:
        raise CommandError(f"--versions {text!r}: {exc}", returncode=2) from exc


def deploy(out: OutputWrapper, user: Any, name: str, versions: str | None, timeout: float) -> None:
    _operator(user)
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None and name.isdigit():
        deployment = Deployment.objects.filter(id=int(name)).first()
    if deployment is None:
        raise CommandError(f"no deployment named {name!r}", returncode=2)
    try:
        started = rollout.start(deployment, _versions(versions), user)
    except errors.ActionError as exc:
        raise CommandError(str(exc), returncode=2) from exc
    if started is None:
        out.write(f"{deployment.name} already has versions {deployment.versions}: nothing to roll")
        return
    out.write(f"rollout #{started.id} of {deployment.name}: {started.from_versions} -> {started.to_versions}")
    wait(out, started.id, timeout)


def wait(out: OutputWrapper, rollout_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    printed, waves = 0, list[str]()
    while True:
        found = Rollout.objects.select_related("deployment").get(id=rollout_id)
        for event in found.timeline[printed:]:
            out.write(f"  {event['at']}  {event['text']}")
        printed = len(found.timeline)
        now = [w["state"] for w in found.waves]
        if now != waves:
            out.write("  waves: " + "  ".join(f"{i + 1}:{s}" for i, s in enumerate(now)))
            waves = now
        if found.state not in Rollout.ACTIVE_STATES:
            if found.state == Rollout.State.SUCCEEDED:
                out.write(f"rollout #{rollout_id} succeeded")
                return
            raise CommandError(f"rollout #{rollout_id} {found.state}: {found.error}", returncode=1)
        if time.monotonic() > deadline:
            raise CommandError(
                f"rollout #{rollout_id} still {found.state} after {timeout:.0f} s", returncode=3
            )
        time.sleep(0.2)


def rollout_command(out: OutputWrapper, user: Any, verb: str, ident: str | None) -> None:
    if verb not in VERBS:
        raise CommandError(f"rollout takes {'|'.join(VERBS)} ID", returncode=2)
    found = (
        Rollout.objects.select_related("deployment").filter(id=int(ident)).first()
        if ident and ident.isdigit()
        else None
    )
    if found is None:
        raise CommandError(f"no rollout numbered {ident!r}", returncode=2)
    if verb != "status":
        _operator(user)
        try:
            found = rollout.control(found, verb, user)
        except errors.ActionError as exc:
            raise CommandError(str(exc), returncode=2) from exc
    out.write(json.dumps(record.serialize_rollout(found), indent=2))
