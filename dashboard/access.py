"""Who may use which route: one table for pages, API and websockets.

Every route of the URLconf and of dashboard/routing.py has a row here, keyed by its name
(a namespace row such as "admin:" covers a whole included app). Pages are checked by
`AccessMiddleware`, API views by `dashboard.permissions.RouteAccess` (after token
authentication), sockets by the consumers; tests/dashboard/test_authorization_matrix.py walks
every route against this table, so a route without a row fails there and is refused here.

Control routes (load, unload, promote, rollback) need only *a* role at the route: the
operator check is fleet's control gate, after read-only mode and the unknown-target check,
so that its fixed order holds (read-only → unknown target → role).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from rest_framework.views import APIView

from fleet import roles

log = logging.getLogger(__name__)

# Who may: anyone; a user with a role (or above); Django admin's own is_staff check.
Level = Literal["public", "viewer", "operator", "admin", "staff"]
PUBLIC: Level = "public"
VIEWER: Level = "viewer"
OPERATOR: Level = "operator"
ADMIN: Level = "admin"
STAFF: Level = "staff"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Access:
    """A route's rule: who may read (GET/HEAD) and who may write (POST, DELETE, ...).

    None means the route has no such method (the view answers 405).
    """

    read: Level | None = None
    write: Level | None = None
    # A control action: refused in read-only mode; the operator check is the gate's.
    control: bool = False


PAGE = Access(read=VIEWER)
CONTROL = Access(write=OPERATOR, control=True)

ACCESS: dict[str, Access] = {
    # Open to anyone: login, probes, FleetDeck's own metrics (FLEET_METRICS_TOKEN guards them).
    "login": Access(read=PUBLIC, write=PUBLIC),
    "logout": Access(write=PUBLIC),
    "healthz": Access(read=PUBLIC),
    "metrics": Access(read=PUBLIC),
    # Pages.
    "index": PAGE,
    "server": PAGE,
    "model": PAGE,
    "audit": PAGE,
    "alerts": PAGE,
    "control": CONTROL,
    "deployments": PAGE,
    "rollout": PAGE,
    # API.
    "schema": Access(read=VIEWER),
    "api-servers": Access(read=VIEWER, write=ADMIN),
    "api-server-models": Access(read=VIEWER),
    "api-server-series": Access(read=VIEWER),
    "api-sparklines": Access(read=VIEWER),
    "api-server-autopilot": Access(read=VIEWER, write=ADMIN),
    "api-model-load": CONTROL,
    "api-model-unload": CONTROL,
    "api-model-promote": CONTROL,
    "api-model-rollback": CONTROL,
    "api-model-ensure": CONTROL,
    "api-model-pipeline": Access(read=VIEWER),
    "api-model-batching": Access(read=VIEWER),
    "api-model-batching-change": CONTROL,
    "api-server-internals": Access(read=VIEWER),
    "api-model-debug": CONTROL,
    "api-model-debug-sessions": Access(read=VIEWER),
    "api-actions": Access(read=VIEWER),
    "api-action": Access(read=VIEWER),
    "api-alert-rules": Access(read=VIEWER, write=OPERATOR),
    "api-alert-rule": Access(write=OPERATOR),
    "api-alerts": Access(read=VIEWER),
    "api-server-timeline": Access(read=VIEWER),
    "api-alert-silence": Access(write=OPERATOR),
    "api-alert-acknowledge": Access(write=OPERATOR),
    # Webhook URLs are secrets (a Slack URL is its own credential): admins only.
    "api-webhooks": Access(read=ADMIN, write=ADMIN),
    "api-webhook-deliveries": Access(read=ADMIN),
    "api-server": Access(read=VIEWER, write=ADMIN),
    # Desired state: operators write it. In read-only mode it may change but nothing acts on
    # it: reconcile requests nothing, and what would act (new versions, a rollout's resume or
    # abort, an unload on delete) answers 403.
    "api-deployments": Access(read=VIEWER, write=OPERATOR),
    "api-deployment": Access(read=VIEWER, write=OPERATOR),
    "api-rollout": Access(read=VIEWER),
    "api-rollout-pause": Access(write=OPERATOR),
    "api-rollout-resume": Access(write=OPERATOR),
    "api-rollout-abort": Access(write=OPERATOR),
    "api-tokens": Access(read=VIEWER, write=VIEWER),
    "api-token": Access(write=VIEWER),
    # Django's admin site checks is_staff on every one of its views but its login.
    "admin:": Access(read=STAFF, write=STAFF),
    "admin:login": Access(read=PUBLIC, write=PUBLIC),
    # Logging out is harmless; a non-staff caller is sent to the admin's index.
    "admin:logout": Access(write=PUBLIC),
    # Websockets (dashboard/routing.py).
    "ws-fleet": Access(read=VIEWER),
    "ws-alerts": Access(read=VIEWER),
    "ws-server": Access(read=VIEWER),
    "ws-model": Access(read=VIEWER),
    "ws-deployments": Access(read=VIEWER),
    "ws-rollout": Access(read=VIEWER),
}


def rule_for(view_name: str) -> Access | None:
    """The route's row, or its namespace's; None for a route nobody gave a row."""
    if view_name in ACCESS:
        return ACCESS[view_name]
    namespace, sep, _ = view_name.rpartition(":")
    while sep:
        if namespace + ":" in ACCESS:
            return ACCESS[namespace + ":"]
        namespace, sep, _ = namespace.rpartition(":")
    return None


def has_level(user: Any, level: Level) -> bool:
    if level == PUBLIC:
        return True
    if level == STAFF:
        return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))
    if level == ADMIN:
        return roles.has_role(user) and roles.is_admin(user)
    if level == OPERATOR:
        return roles.has_role(user) and roles.is_operator(user)
    return roles.has_role(user)


def refusal(rule: Access | None, user: Any, method: str) -> int | None:
    """401 (not signed in), 403 (signed in, not allowed), 405 (the row has no such method)
    or None (let the view answer).

    A route without a row is refused: a new route is closed until someone writes its rule.
    """
    if rule is None:
        return 403
    level = rule.read if method.upper() in SAFE_METHODS else rule.write
    if level is None:
        return 405
    if level in (PUBLIC, STAFF):
        return None  # the public, or Django admin's own check
    if not getattr(user, "is_authenticated", False):
        return 401
    return None if has_level(user, VIEWER if rule.control else level) else 403


NO_ROLE = "Your account has no FleetDeck role; ask an admin to make you a viewer, operator or admin."


def forbidden_message(user: Any, rule: Access | None) -> str:
    if rule is None:
        return "This address has no access rule, so it is closed."
    if not roles.has_role(user):
        return NO_ROLE
    return "Your role does not allow this."


def allowed_methods(rule: Access) -> list[str]:
    read = ["GET", "HEAD", "OPTIONS"] if rule.read else []
    return read + (["POST", "PUT", "PATCH", "DELETE"] if rule.write else [])


def _is_api_view(view_func: Any) -> bool:
    cls = getattr(view_func, "cls", None)
    return isinstance(cls, type) and issubclass(cls, APIView)


class AccessMiddleware:
    """Applies ACCESS to every page (API views apply it after token authentication)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if _is_api_view(view_func):
            return None  # dashboard.permissions.RouteAccess, once the token is read
        match = request.resolver_match
        view_name = match.view_name if match else ""
        rule = rule_for(view_name)
        if rule is None:
            log.error("route %r has no row in dashboard.access.ACCESS: refused", view_name)
        code = refusal(rule, request.user, request.method or "GET")
        if code == 405 and rule is not None:
            return HttpResponseNotAllowed(allowed_methods(rule))
        if code == 401:
            return redirect_to_login(request.get_full_path())
        if code == 403:
            context = {"message": forbidden_message(request.user, rule)}
            return render(request, "registration/forbidden.html", context, status=403)
        return None
