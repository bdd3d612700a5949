"""Tell a user's open sockets to re-check their access when it may have ended.

Logout, a saved user (deactivated, superuser flag or password changed), a role group added
or taken away, a group or user deleted: each sends `user.recheck` to the group `user-<id>`
that every socket of that user joins (dashboard/consumers.py), once the change is committed,
so the socket reads the new state. A logout names its session: only that session's sockets
close, the user's other browsers stay. The same changes, and a deleted API token, drop what
the fast ensure path remembered of the user's tokens (dashboard/token_cache.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from knox.models import AuthToken

from fleet.broadcast import broadcast

from . import token_cache
from .consumers import user_group


def recheck(user_ids: Iterable[Any], ended_session: str | None = None) -> None:
    ids = [pk for pk in user_ids if pk is not None]
    # The fast ensure path's authorized tokens of these users go too: now, and again once
    # committed (a request may read the old groups until then).
    token_cache.forget_users(ids)
    transaction.on_commit(lambda: token_cache.forget_users(ids))
    groups = [user_group(pk) for pk in ids]
    if groups:
        payload = {"ended_session": ended_session}
        transaction.on_commit(lambda: broadcast(groups, "user.recheck", payload))


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        session = getattr(request, "session", None)
        recheck([user.pk], getattr(session, "session_key", None))


def on_user_saved(
    sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    if created or (update_fields is not None and set(update_fields) == {"last_login"}):
        return  # a new user has no socket; a login changes nothing for the others
    recheck([instance.pk])


def on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    recheck([instance.pk])


def on_groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, **kwargs: Any
) -> None:
    if not reverse:  # user.groups.remove(...) / .clear() / .set(...)
        if action in {"post_remove", "post_clear"}:
            recheck([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear(): the members are gone after it
        recheck(list(instance.user_set.values_list("pk", flat=True)))
    elif action == "post_remove":
        recheck(pk_set or ())


def on_group_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    recheck(list(instance.user_set.values_list("pk", flat=True)))


def on_token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A revoked token (knox's logout, the tokens API, the hourly purge) is refused at once."""
    token_cache.forget_token(instance.digest)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(on_logout, dispatch_uid="dashboard-socket-logout")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid="dashboard-socket-user-saved")
    pre_delete.connect(on_user_deleted, sender=user_model, dispatch_uid="dashboard-socket-user-deleted")
    m2m_changed.connect(
        on_groups_changed, sender=user_model.groups.through, dispatch_uid="dashboard-socket-groups"
    )
    pre_delete.connect(on_group_deleted, sender=Group, dispatch_uid="dashboard-socket-group-deleted")
    post_delete.connect(on_token_deleted, sender=AuthToken, dispatch_uid="dashboard-fast-ensure-token")
