"""Roles: viewer (read), operator (control models), admin (servers, users, tokens).

Roles are Django groups of those names; a superuser is an admin. Each role includes the
ones below it.
"""

from __future__ import annotations

from typing import Any

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)


_MEMO = "_fleet_groups"


def remember_groups(user: Any) -> None:
    """Read the user's groups once and keep them on this user object, for the rest of one
    request: only for objects that live one request (the API's token authentication makes
    one per request), never a socket's user, whose groups may change while it is open."""
    setattr(user, _MEMO, frozenset(user.groups.values_list("name", flat=True)))


def _groups(user: Any) -> set[str] | frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    remembered: frozenset[str] | None = getattr(user, _MEMO, None)
    if remembered is not None:
        return remembered
    return set(user.groups.values_list("name", flat=True))


def has_role(user: Any) -> bool:
    """Any FleetDeck role. A signed-in user with none (or a deactivated one) sees nothing."""
    if not getattr(user, "is_active", False):
        return False
    return bool(getattr(user, "is_superuser", False)) or bool(_groups(user) & set(ROLES))


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMIN in _groups(user)


def is_operator(user: Any) -> bool:
    # One read of the groups (this sits on the request path of every control call).
    return bool(getattr(user, "is_superuser", False)) or bool({ADMIN, OPERATOR} & _groups(user))
