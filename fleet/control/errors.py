"""What can go wrong on the control path, as types that each caller maps to its medium
(an HTTP status in the API, a message on the page, an exit code in the CLI)."""

from __future__ import annotations

from ..models import Action


class ActionError(Exception):
    """A request that cannot be accepted; the message is fit to show to the requester."""


class ReadOnly(ActionError):
    """FLEET_READ_ONLY is on: every control request is refused (HTTP 403)."""


class UnknownServer(ActionError):
    """No such server (HTTP 404)."""


class NotPermitted(ActionError):
    """The user is not an operator or admin (HTTP 403)."""


class InvalidRequest(ActionError):
    """Bad input (a name, a version, nothing to roll back): HTTP 400."""


class ModelNotInRepository(ActionError):
    """The model is not in the server's repository index: HTTP 404. (Not to be confused
    with the pages' "no data for this model"; this one is about Triton's repository.)"""


class ConfirmationRequired(ActionError):
    """Unloading a model that served traffic recently needs confirm=True: HTTP 409."""


class ActionInProgress(ActionError):
    """Another action on the same model is queued or running: HTTP 409."""

    def __init__(self, message: str, action: Action | None) -> None:
        super().__init__(message)
        self.action = action


class ActionFailed(Exception):
    """Raised inside the runner: the action ends failed with this text."""
