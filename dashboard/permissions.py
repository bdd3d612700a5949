"""API permissions that map FleetDeck's roles onto DRF."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from fleet import roles


class ReadOrAdmin(BasePermission):
    """Any signed-in user reads; only admins write."""

    message = "Only fleet admins can change servers."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or roles.is_admin(request.user)
