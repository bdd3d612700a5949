"""API authentication: `Authorization: Bearer <token>` with django-rest-knox's hashed tokens.

Knox keeps a SHA-512 digest of each token (never the token), an expiry, and the first 15
characters as a lookup key that the owner sees as the token's prefix.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    def authenticate_header(self, request: Any) -> str:
        return "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
        return scheme
