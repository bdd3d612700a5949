"""The one gate in front of every control path: the API, the page's buttons and the CLI.

Checks run in a fixed order, each raising a typed refusal that the caller maps to its
medium (an HTTP status, a message on the page, exit code 2):

1. read-only mode (FLEET_READ_ONLY)      → ReadOnly             (403)
2. the server exists                      → UnknownServer        (404)
3. the user is an operator or admin       → NotPermitted         (403)
4. the model name is plain                → InvalidRequest       (400)
5. the model is in the repository index   → ModelNotInRepository (404)

Nothing before step 3 reads Triton, so a user who may not control models cannot make
FleetDeck call a server either; step 5 reads the mirrored index first and refreshes it
from Triton only when the name is missing there. Authentication comes before the gate
(the API answers 401, the pages redirect to the login, the CLI needs an active user).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .. import roles
from ..models import Server
from .errors import InvalidRequest, ModelNotInRepository, NotPermitted, ReadOnly, UnknownServer
from .requests import is_plain_model_name, model_in_repository


def find_server(ref: Server | int | str) -> Server | None:
    """A server by id (int), or by name, else by id written in digits (str)."""
    if isinstance(ref, Server):
        return ref
    if isinstance(ref, int):
        return Server.objects.filter(id=ref).first()
    server = Server.objects.filter(name=ref).first()
    if server is None and ref.isdigit():
        server = Server.objects.filter(id=int(ref)).first()
    return server


def check_role(user: Any) -> None:
    """Step 3 alone, for a caller that checks the rest itself (dashboard/fast_ensure.py
    renews what it knows of a token with this and the access table)."""
    if not roles.is_operator(user):
        who = getattr(user, "username", "") or "this user"
        raise NotPermitted(
            f"{who} is not an operator: only fleet operators and admins can load, unload, "
            "promote or roll back models."
        )


def check_control(user: Any, server_ref: Server | int | str, model_name: str) -> Server:
    """Pass the gate or raise its refusal; returns the server."""
    if settings.FLEET_READ_ONLY:
        raise ReadOnly("FleetDeck is read-only (FLEET_READ_ONLY): control is disabled.")
    server = find_server(server_ref)
    if server is None:
        raise UnknownServer(f"no server named or numbered {str(server_ref)!r}")
    check_role(user)
    if not is_plain_model_name(model_name):
        raise InvalidRequest(f"{model_name!r} is not a plain model name")
    if not model_in_repository(server, model_name):
        raise ModelNotInRepository(f"no model {model_name!r} in the repository of {server.name}")
    return server
