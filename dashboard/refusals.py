"""How the web answers a refusal of the control path: one HTTP status and code per type.

The API puts both in its JSON body; the page's form answers gate refusals with the status
and shows the others as a message. The CLI maps them all to exit code 2.
"""

from __future__ import annotations

from fleet.control import errors

_STATUS: list[tuple[type[errors.ActionError], int, str]] = [
    (errors.ReadOnly, 403, "read_only"),
    (errors.UnknownServer, 404, "not_found"),
    (errors.NotPermitted, 403, "forbidden"),
    (errors.InvalidRequest, 400, "invalid"),
    (errors.ModelNotInRepository, 404, "not_found"),
    (errors.ConfirmationRequired, 409, "confirm_required"),
    (errors.ActionInProgress, 409, "in_progress"),
]


def status_of(exc: errors.ActionError) -> tuple[int, str]:
    """(HTTP status, code) of a refusal; 400 "invalid" for a type not listed here."""
    return next(((status, code) for cls, status, code in _STATUS if isinstance(exc, cls)), (400, "invalid"))
