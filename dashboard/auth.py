"""API authentication: `Authorization: Bearer <token>` with django-rest-knox's hashed tokens.

Knox keeps a SHA-512 digest of each token (never the token), an expiry, and the first 15
characters as a lookup key that the owner sees as the token's prefix.

Two changes to knox's per-request work, because some endpoints (ensure-loaded) sit on every
client's request path: the caller's groups are read once per request, here, and shared by
the route's access rule and the control gate (fleet.roles reads them off the user object,
which knox makes afresh for each request); and only the presented token's expiry is checked,
instead of reading all the owner's tokens each time to delete their expired ones, which
dashboard.tasks.purge_expired_tokens does hourly. 7 queries became 5 per READY ensure.
A token that passed here and the ensure view's checks is remembered for a few seconds by
dashboard.token_cache, so that the fast path in front of Django can answer its READY calls.
"""

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication

from fleet import roles

from . import token_cache


class BearerTokenAuthentication(TokenAuthentication):
    def authenticate_header(self, request: Any) -> str:
        return "Bearer"

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        epoch = token_cache.epoch()  # before the token, its user and the groups are read
        user, auth_token = super().authenticate_credentials(token)
        token_cache.mark_authenticated(auth_token, epoch)
        return user, auth_token

    def validate_user(self, auth_token: Any) -> tuple[Any, Any]:
        user, token = super().validate_user(auth_token)
        roles.remember_groups(user)
        return user, token

    def _cleanup_token(self, auth_token: Any) -> bool:
        """True (skip it) for an expired token, which is deleted; the owner's other tokens
        are left to the hourly purge."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
        return scheme
