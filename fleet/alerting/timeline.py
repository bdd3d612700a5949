"""The incident timeline of a server, or of one model on it: one time-ordered list of what
happened, built from the records FleetDeck already keeps:
- state changes from the repository index (ModelEvent);
- control actions, rollouts' and the autopilot's included (Action), with their parameters
  (a config override is how a config change is made, so it shows here), and the steps of
  the rollouts of deployments that put a model on the server (Rollout.timeline);
- alerts firing and resolving (Alert);
- config changes: the changes of deployments that put a model on the server (desired
  state: versions, config overrides);
- the server going down (its gap markers) and coming back (the next stored scrape).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypedDict

from django.db.models import Q
from django.utils import timezone

from ..frames import iso
from ..models import Action, Alert, Block, DeploymentChange, ModelEvent, Rollout, Server

LIMIT = 300  # entries of each source at most
GAPS = 30  # down/up pairs at most (each "up" is one indexed query)


class Entry(TypedDict):
    at: str | None  # ISO 8601, UTC
    kind: str  # state | action | rollout | alert | config | down | up
    model: str
    title: str
    detail: str
    ref: int | None  # the action's or alert's id


def timeline(server: Server, model: str | None = None, hours: float = 24.0) -> list[Entry]:
    """Newest first, of the last `hours`."""
    since = timezone.now() - timedelta(hours=hours)
    out: list[tuple[datetime, Entry]] = []

    def add(
        at: datetime | None, kind: str, name: str, title: str, detail: str = "", ref: int | None = None
    ) -> None:
        if at is not None and at >= since:
            out.append(
                (
                    at,
                    {
                        "at": iso(at),
                        "kind": kind,
                        "model": name,
                        "title": title,
                        "detail": detail,
                        "ref": ref,
                    },
                )
            )

    events = ModelEvent.objects.filter(server=server, at__gte=since)
    actions = Action.objects.filter(server=server).filter(
        Q(requested_at__gte=since) | Q(finished_at__gte=since)
    )
    alerts = Alert.objects.filter(server=server).exclude(state=Alert.State.PENDING)
    alerts = alerts.filter(Q(fired_at__gte=since) | Q(resolved_at__gte=since))
    if model is not None:
        events, actions = events.filter(name=model), actions.filter(model=model)
        alerts = alerts.filter(model__in=[model, ""])  # the server's own alerts concern it too
    for e in events.order_by("-at")[:LIMIT]:
        version = f" v{e.version}" if e.version else ""
        add(e.at, "state", e.name, f"{e.name}{version}: {e.old_state or 'new'} → {e.new_state}", e.reason)
    for a in actions.select_related("requested_by").order_by("-requested_at")[:LIMIT]:
        who = a.requested_by.username if a.requested_by else "-"
        params = {k: v for k, v in a.parameters.items() if k not in ("previous_policy",)}
        add(a.requested_at, "action", a.model, f"{a.kind} {a.model} requested by {who}", str(params), a.id)
        if a.finished_at is not None:
            add(a.finished_at, "action", a.model, f"{a.kind} {a.model} {a.state}", a.error or a.result, a.id)
    for al in alerts.select_related("rule").order_by("-started_at")[:LIMIT]:
        what = f"{al.kind}{f' {al.model}' if al.model else ''}"
        add(al.fired_at, "alert", al.model, f"{what} firing", al.cause, al.id)
        add(al.resolved_at, "alert", al.model, f"{what} resolved", "", al.id)
    changes = DeploymentChange.objects.filter(at__gte=since, deployment__targets__server=server)
    if model is not None:
        changes = changes.filter(deployment__model=model)
    for c in changes.select_related("deployment", "changed_by").distinct().order_by("-at")[:LIMIT]:
        who = c.changed_by.username if c.changed_by else "-"
        name = c.deployment.model if c.deployment else ""
        add(c.at, "config", name, f"deployment {c.deployment_name} {c.kind} by {who}", str(c.changes), c.id)
    rollouts = Rollout.objects.filter(deployment__targets__server=server).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=since)
    )
    if model is not None:
        rollouts = rollouts.filter(deployment__model=model)
    for r in rollouts.select_related("deployment").distinct().order_by("-created_at")[:GAPS]:
        for event in r.timeline[-LIMIT:] if isinstance(r.timeline, list) else []:
            at = _parse(event.get("at")) if isinstance(event, dict) else None
            text = str(event.get("text", "")) if isinstance(event, dict) else ""
            add(
                at, "rollout", r.deployment.model, f"rollout #{r.id} of {r.deployment.name}: {text}", "", r.id
            )
    gaps = Block.objects.filter(server=server, data__isnull=True, at__gte=since).order_by("-at")[:GAPS]
    for gap in gaps:
        add(gap.at, "down", "", f"{server.name} stopped answering")
        back = Block.objects.filter(server=server, at__gt=gap.at, data__isnull=False).order_by("at").first()
        if back is not None:
            add(back.at, "up", "", f"{server.name} answered again")
    out.sort(key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in out]


def _parse(value: object) -> datetime | None:
    """An ISO 8601 time as fleet.deploy writes it ("...Z"), or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
