"""What can go wrong on the control path, as types that each caller maps to its medium
(an HTTP status in the API, a message on the page, an exit code in the CLI)."""

from __future__ import annotations

from ..models import Action


class ActionError(Exception):
    """A request that cannot be accepted; the message is fit to show to the requester."""


class InvalidRequest(ActionError):
    """Bad input (a name, a version, nothing to roll back): HTTP 400."""


class UnknownModel(ActionError):
    """The model is not in the server's repository: HTTP 404."""


class ConfirmationRequired(ActionError):
    """Unloading a model that served traffic recently needs confirm=True: HTTP 409."""


class ActionInProgress(ActionError):
    """Another action on the same model is queued or running: HTTP 409."""

    def __init__(self, message: str, action: Action | None) -> None:
        super().__init__(message)
        self.action = action


class ActionFailed(Exception):
    """Raised inside the runner: the action ends failed with this text."""
