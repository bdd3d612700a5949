"""The state machine of open alerts: what a scrape (or an action) saw, against the open
rows it read, moves them pending → firing → resolved, or drops a pending one whose condition
stopped holding before its `for`. Writes only what changed, in bulk where it can: most
scrapes change nothing, and a pending alert keeps the figures it started with until it
fires (its cause is worked out only then, see Seen.explain).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..models import Alert, Server
from . import rules


@dataclass
class Seen:
    """A rule's condition holding for one target in this scrape."""

    rule: rules.Watch
    model: str = ""
    value: float | None = None
    cause: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    # A queue-time alert's cause, worked out only when its row is written: most scrapes
    # leave a pending alert as it is, and the cause may need a query (co-tenant load).
    explain: Callable[[], tuple[str, dict[str, Any]]] | None = None

    def explained(self) -> Seen:
        if self.explain is not None:
            self.cause, self.detail = self.explain()
            self.explain = None
        return self


def target(server_id: int | None, model: str) -> str:
    return f"{server_id}/{model}" if model else str(server_id)


def transition(
    server: Server,
    seen: Sequence[Seen],
    at: datetime,
    since: datetime,
    open_rows: dict[tuple[int, str], rules.Open],
) -> list[int]:
    """Move the open alerts `open_rows` (of the rules evaluated) by what holds now; returns
    the ids of the alerts that fired or resolved. Writes in bulk where it can: most scrapes
    change nothing, and a pending alert keeps the figures it started with until it fires."""
    open_rows = dict(open_rows)
    now = timezone.now()
    changed: list[int] = []
    pending: list[tuple[Seen, str]] = []  # new alerts, pending: (what holds, target)
    fire: list[tuple[int, Seen]] = []  # pending alerts whose `for` is over
    moved: list[tuple[int, Seen]] = []  # firing alerts whose figures moved (see _moved)
    # The rows to write, each with its cause, before any write: a cause that fails (its
    # query) then fails the scrape's evaluation whole, never after an alert fired unheard.
    steps: list[tuple[Seen, str, rules.Open | None]] = []
    for s in seen:
        key = target(server.id, s.model)
        row = open_rows.pop((s.rule.id, key), None)  # seen: not dropped, not resolved
        if not _still_pending(row, s, at):
            steps.append((s.explained(), key, row))
    for s, key, row in steps:
        if row is None:
            if (at - since).total_seconds() < s.rule.for_s:
                pending.append((s, key))  # no model row: a fleet opens hundreds at once
                continue
            new = _new(server.id, s, key, Alert.State.FIRING, since)
            new.fired_at = at
            try:
                with transaction.atomic():
                    new.save()
            except IntegrityError:  # a concurrent scrape of the same server opened it
                continue
            changed.append(new.id)
        elif row.state == Alert.State.PENDING:  # its `for` is over (see above)
            fire.append((row.id, s))
        elif _moved(row, s):
            moved.append((row.id, s))
    if fire:  # one that a concurrent scrape fired (or dropped) meanwhile is skipped
        changed.extend(_rewrite(fire, Alert.State.PENDING, now, fired_at=at))
    if moved:
        _rewrite(moved, Alert.State.FIRING, now)
    if pending:  # one that a concurrent scrape opened meanwhile is skipped
        _insert_pending(server.id, pending, since, now)
    gone = [row.id for row in open_rows.values() if row.state == Alert.State.PENDING]
    if gone:  # the condition stopped holding before its `for`: no incident
        _drop_pending(gone)
    ended = [row.id for row in open_rows.values() if row.state == Alert.State.FIRING]
    if ended and Alert.objects.filter(id__in=ended, state=Alert.State.FIRING).update(
        state=Alert.State.RESOLVED, resolved_at=at, updated_at=now
    ):
        changed.extend(ended)
    return changed


PENDING_COLUMNS = ("rule_id", "kind", "server_id", "model", "target", "state", "value", "cause", "detail")


def _new(server_id: int, s: Seen, key: str, state: str, since: datetime) -> Alert:
    return Alert(
        rule_id=s.rule.id, kind=s.rule.kind, server_id=server_id, model=s.model, target=key, state=state,
        started_at=since, value=s.value, cause=s.cause, detail=s.detail,
    )  # fmt: skip


def _insert_pending(server_id: int, rows: list[tuple[Seen, str]], since: datetime, now: datetime) -> None:
    """Insert new pending alerts in one statement, skipping any that a concurrent scrape
    opened meanwhile. Written out on PostgreSQL: bulk_create's transaction costs two more
    round trips (BEGIN, COMMIT) and its compile most of the rest, in a scrape's budget."""
    if connection.vendor != "postgresql":
        new = [_new(server_id, s, key, Alert.State.PENDING, since) for s, key in rows]
        Alert.objects.bulk_create(new, ignore_conflicts=True)
        return
    table = connection.ops.quote_name(Alert._meta.db_table)
    columns = ", ".join((*PENDING_COLUMNS, "started_at", "updated_at"))
    row = "(" + ", ".join(["%s"] * (len(PENDING_COLUMNS) - 1)) + ", %s::jsonb, %s, %s)"
    params: list[Any] = []
    for s, key in rows:
        params += [s.rule.id, s.rule.kind, server_id, s.model, key, Alert.State.PENDING, s.value, s.cause]
        params += [json.dumps(s.detail), since, now]
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(rows))} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rewrite(
    rows: list[tuple[int, Seen]], state: str, now: datetime, fired_at: datetime | None = None
) -> list[int]:
    """Write each alert's figures (and with `fired_at`, fire it) where it is still in `state`;
    returns the ids written, in the order given. One statement on PostgreSQL: the round where
    a fleet's pending alerts reach their `for` writes hundreds at once, one per scrape cost
    a round trip and the ORM's compile each."""
    if connection.vendor != "postgresql":
        done = []
        extra: dict[str, Any] = {"state": Alert.State.FIRING, "fired_at": fired_at} if fired_at else {}
        for id_, s in rows:
            fields = {"value": s.value, "cause": s.cause, "detail": s.detail, **extra}
            if Alert.objects.filter(id=id_, state=state).update(updated_at=now, **fields):
                done.append(id_)
        return done
    table = connection.ops.quote_name(Alert._meta.db_table)
    sets = "updated_at = %s, value = v.value, cause = v.cause, detail = v.detail"
    params: list[Any] = [now]
    if fired_at is not None:
        sets += ", state = %s, fired_at = %s"
        params += [Alert.State.FIRING, fired_at]
    values = ", ".join(["(%s::bigint, %s::double precision, %s::text, %s::jsonb)"] * len(rows))
    for id_, s in rows:
        params += [id_, s.value, s.cause, json.dumps(s.detail)]
    params.append(state)
    sql = (
        f"UPDATE {table} AS a SET {sets} FROM (VALUES {values}) AS v(id, value, cause, detail)"
        " WHERE a.id = v.id AND a.state = %s RETURNING a.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = {row[0] for row in cursor.fetchall()}
    return [id_ for id_, _ in rows if id_ in written]


def _still_pending(row: rules.Open | None, s: Seen, at: datetime) -> bool:
    """A pending alert whose `for` is not over: left as it is, with the figures it started with."""
    return (
        row is not None
        and row.state == Alert.State.PENDING
        and (at - row.started_at).total_seconds() < s.rule.for_s
    )


def _drop_pending(ids: list[int]) -> None:
    """Delete pending alerts in one statement. A pending alert never had a delivery (only a
    firing or resolved one does), so Django's collector, which would look for them first
    (a transaction, a select and two deletes), has nothing to do."""
    table = connection.ops.quote_name(Alert._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    sql = f"DELETE FROM {table} WHERE state = %s AND id IN ({marks})"
    with connection.cursor() as cursor:
        cursor.execute(sql, [Alert.State.PENDING, *ids])


def _moved(row: rules.Open, s: Seen) -> bool:
    """Whether a firing alert's figures are worth a write: its cause changed, or its value by
    more than a tenth."""
    if s.value is None or row.value is None:
        return row.cause != s.cause
    if row.code != s.detail.get("code"):
        return True
    return abs(s.value - row.value) > 0.1 * abs(row.value)
