"""Alert rules: validation (a refusal names its field), scope, and changes.

Scope: a rule with no server and no selector watches the whole fleet; a selector
({"label": "value", ...}) watches the servers whose labels contain all of it; a server
(and optionally a model) watches that one target. A rule with a model but no server
watches that model on every server in its scope.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from ..models import Alert, AlertRule, ModelConfig, Server
from . import notify

log = logging.getLogger(__name__)

Kind = AlertRule.Kind
THRESHOLD_KINDS = frozenset({Kind.QUEUE_TIME, Kind.FAILURE_RATE})
MODEL_KINDS = frozenset({Kind.QUEUE_TIME, Kind.FAILURE_RATE, Kind.MODEL_NOT_READY, Kind.LOAD_FAILED})
FIELDS = ("name", "kind", "threshold", "for_s", "selector", "server", "model", "enabled")


class RuleInvalid(ValueError):
    """A rule refused; `field` names what is wrong (the API answers 400 {field: [message]})."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Watch:
    """What evaluation reads of a rule: read as plain values, one query per scrape."""

    id: int
    kind: str
    threshold: float | None
    for_s: float
    selector: dict[str, str]
    server_id: int | None
    model: str


class Open(NamedTuple):
    """An open alert as transition reads it (no model rows: this runs every scrape)."""

    id: int
    rule_id: int
    target: str
    state: str
    started_at: datetime
    value: float | None
    cause: str
    code: str | None  # detail["code"]: the cause of a queue-time alert


WATCH_COLUMNS = ("id", "kind", "threshold", "for_s", "selector", "server_id", "model")


def applies(rule: AlertRule | Watch, server: Server) -> bool:
    """Whether the rule watches this server (its model filter is applied per model)."""
    if rule.server_id is not None and rule.server_id != server.id:
        return False
    labels = server.labels if isinstance(server.labels, dict) else {}
    return all(str(labels.get(key)) == str(value) for key, value in (rule.selector or {}).items())


def watching(server: Server, kinds: frozenset[str] | set[str]) -> list[Watch]:
    """The enabled rules of these kinds that watch the server (see enabled_rules)."""
    return [rule for rule in enabled_rules() if rule.kind in kinds and applies(rule, server)]


OPEN_COLUMNS = ("id", "rule_id", "target", "state", "started_at", "value", "cause", "detail__code")

# The enabled rules, kept per process while the table's fingerprint (how many rules, the
# latest change) stays the same: reading 100 rules back every scrape was most of what
# evaluation cost. The fingerprint is read every time, so a change anywhere (another
# process, /admin/, a rolled-back transaction) is seen at the next scrape.
_cached: tuple[tuple[int, Any], list[Watch]] | None = None


def _fingerprint() -> tuple[int, Any]:
    mark = AlertRule.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    return (mark["n"], mark["at"])


def _enabled(fingerprint: tuple[int, Any]) -> list[Watch]:
    global _cached
    if _cached is None or _cached[0] != fingerprint:
        rows = AlertRule.objects.filter(enabled=True).order_by("id").values_list(*WATCH_COLUMNS)
        _cached = (fingerprint, [Watch(*row) for row in rows])
    return _cached[1]


def enabled_rules() -> list[Watch]:
    return _enabled(_fingerprint())


class Watched(NamedTuple):
    rules: list[Watch]
    open: dict[tuple[int, str], Open]
    # The version of the server's model configs (how many, and their fetch times summed), for
    # the busy ratio's cache (fleet.alerting.evaluate.shapes); None where it was not read.
    configs: Any


def watching_with_open(server: Server, kinds: frozenset[str] | set[str]) -> Watched:
    """The rules of `watching`, and the server's open alerts of those kinds (this runs every
    scrape: on PostgreSQL one round trip with the rules' fingerprint and the configs'
    version, see _open_pg). An open alert of a rule that no longer watches the server comes
    too, so that it resolves."""
    configs = None
    if connection.vendor == "postgresql":
        fingerprint, configs, found = _open_pg(server.id, kinds)
    else:
        fingerprint = _fingerprint()
        rows = Alert.objects.filter(server_id=server.id, state__in=Alert.OPEN_STATES, kind__in=kinds)
        found = list(map(Open._make, rows.order_by().values_list(*OPEN_COLUMNS)))
    return Watched(_watching(server, kinds, fingerprint), {(a.rule_id, a.target): a for a in found}, configs)


# (server id, kinds) -> (fingerprint, the server's labels, the rules watching it): a scrape
# asks again only when a rule or the server's labels changed.
_scoped: dict[tuple[int, frozenset[str]], tuple[tuple[int, Any], Any, list[Watch]]] = {}


def _watching(server: Server, kinds: frozenset[str] | set[str], fingerprint: tuple[int, Any]) -> list[Watch]:
    key = (server.id, frozenset(kinds))
    cached = _scoped.get(key)
    if cached is not None and cached[0] == fingerprint and cached[1] == server.labels:
        return cached[2]
    found = [r for r in _enabled(fingerprint) if r.kind in kinds and applies(r, server)]
    _scoped[key] = (fingerprint, copy.deepcopy(server.labels), found)
    return found


def _open_pg(server_id: int, kinds: frozenset[str] | set[str]) -> tuple[tuple[int, Any], Any, list[Open]]:
    """The rules' fingerprint, the server's configs' version and its open alerts in one
    statement, written out: the ORM's queries cost a round trip each and most of their time
    compiling. The versions' one row is joined to the alerts, so it comes when none is open."""
    with connection.cursor() as cursor:
        cursor.execute(_open_sql(frozenset(kinds)), [server_id, server_id])
        rows = cursor.fetchall()
    first = rows[0]
    return (
        (first[0], first[1]),
        (first[2], first[3]),
        [Open._make(row[4:]) for row in rows if row[4] is not None],
    )


@lru_cache(maxsize=8)
def _open_sql(kinds: frozenset[str]) -> str:
    """The statement for these kinds. The states and kinds are this code's own constants
    (checked to be plain words), written into it: adapting them as arrays every scrape cost
    more than the query."""
    words = (*Alert.OPEN_STATES, *sorted(kinds))
    if not all(word.isidentifier() for word in words):
        raise ValueError(f"not a kind: {words}")
    states = ", ".join(f"'{state}'" for state in Alert.OPEN_STATES)
    listed = ", ".join(f"'{kind}'" for kind in sorted(kinds))
    alerts, rules, configs = (
        connection.ops.quote_name(m._meta.db_table) for m in (Alert, AlertRule, ModelConfig)
    )
    # The configs' fetch times summed (numeric, exact), not their latest: a config rewritten
    # by a worker whose clock is behind another's still changes it.
    return (
        "SELECT f.n, f.at, c.n, c.at, a.id, a.rule_id, a.target, a.state, a.started_at, a.value,"
        f" a.cause, a.detail ->> 'code' FROM (SELECT count(*), max(updated_at) FROM {rules}) AS f(n, at)"
        f" CROSS JOIN (SELECT count(*), sum(extract(epoch FROM fetched_at)) FROM {configs}"
        " WHERE server_id = %s) AS c(n, at)"
        f" LEFT JOIN {alerts} AS a ON a.server_id = %s AND a.state IN ({states})"
        f" AND a.kind IN ({listed})"
    )


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleInvalid(field, "must be a number")
    if value < 0:
        raise RuleInvalid(field, "must not be negative")
    return float(value)


def _selector_matches(selector: dict[str, str]) -> bool:
    return any(
        all(str((labels or {}).get(k)) == v for k, v in selector.items())
        for labels in Server.objects.values_list("labels", flat=True)
        if isinstance(labels, dict)
    )


def clean(data: dict[str, Any], current: AlertRule | None = None) -> dict[str, Any]:
    """The rule's fields from a request (all of them, or those given on a PATCH of
    `current`); RuleInvalid names the first field that is wrong."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise RuleInvalid(unknown[0], "unknown field")
    merged: dict[str, Any] = {}
    if current is not None:
        merged = {f: getattr(current, f if f != "server" else "server_id") for f in FIELDS}
    merged.update(data)
    kind = merged.get("kind")
    if kind not in Kind.values:
        raise RuleInvalid("kind", f"unknown kind {kind!r}; one of {', '.join(Kind.values)}")
    out: dict[str, Any] = {"kind": kind}
    name = merged.get("name") or ""
    if not isinstance(name, str) or len(name) > 200:
        raise RuleInvalid("name", "must be text of at most 200 characters")
    out["name"] = name
    threshold = merged.get("threshold")
    if threshold is None:
        if kind in THRESHOLD_KINDS:
            raise RuleInvalid("threshold", f"a {kind} rule needs a threshold")
        out["threshold"] = None
    else:
        out["threshold"] = _number("threshold", threshold)
    out["for_s"] = _number("for_s", merged.get("for_s") or 0)
    selector = merged.get("selector") or {}
    if not isinstance(selector, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
    ):
        raise RuleInvalid("selector", 'must be an object of label names to values, like {"zone": "a"}')
    if selector and not _selector_matches(selector):
        raise RuleInvalid("selector", f"matches no server: {selector}")
    out["selector"] = selector
    server = merged.get("server")
    if server is not None and (
        not isinstance(server, int)
        or isinstance(server, bool)
        or not Server.objects.filter(id=server).exists()
    ):
        raise RuleInvalid("server", f"no server {server!r}")
    out["server_id"] = server
    model = merged.get("model") or ""
    if not isinstance(model, str) or len(model) > 200:
        raise RuleInvalid("model", "must be a model name of at most 200 characters")
    if model and kind not in MODEL_KINDS:
        raise RuleInvalid("model", f"a {kind} rule watches servers, not models")
    out["model"] = model
    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleInvalid("enabled", "must be true or false")
    out["enabled"] = enabled
    return out


def create(data: dict[str, Any], user: Any) -> AlertRule:
    fields = clean(data)
    rule = AlertRule.objects.create(**fields, created_by=user if getattr(user, "pk", None) else None)
    log.info("alert rule #%s created by %s: %s", rule.id, getattr(user, "username", "-"), fields)
    return rule


def update(rule: AlertRule, data: dict[str, Any], user: Any) -> AlertRule:
    fields = clean(data, rule)
    for key, value in fields.items():
        setattr(rule, key, value)
    rule.save()
    log.info("alert rule #%s changed by %s: %s", rule.id, getattr(user, "username", "-"), data)
    if not rule.enabled:  # a rule switched off ends its incidents: nothing evaluates them now
        now = timezone.now()
        Alert.objects.filter(rule=rule, state=Alert.State.PENDING).delete()
        firing = list(Alert.objects.filter(rule=rule, state=Alert.State.FIRING).values_list("id", flat=True))
        ended = Alert.objects.filter(id__in=firing)
        ended.update(state=Alert.State.RESOLVED, resolved_at=now, updated_at=now)
        notify.changed(firing)
    return rule


def delete(rule: AlertRule, user: Any) -> None:
    log.info("alert rule #%s (%s) deleted by %s", rule.id, rule.kind, getattr(user, "username", "-"))
    rule.delete()
