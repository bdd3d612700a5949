"""The API's one permission class: dashboard.access.ACCESS, applied after token auth."""

from typing import Any

from rest_framework.exceptions import MethodNotAllowed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from . import access


class RouteAccess(BasePermission):
    """The route's row of ACCESS. DRF answers 401 to a refused anonymous caller, 403 otherwise."""

    def has_permission(self, request: Request, view: Any) -> bool:
        match = request.resolver_match
        rule = access.rule_for(match.view_name if match else "")
        code = access.refusal(rule, request.user, request.method or "GET")
        if code == 405:
            raise MethodNotAllowed(request.method or "")
        if code == 403:
            raise PermissionDenied(access.forbidden_message(request.user, rule))
        return code is None
