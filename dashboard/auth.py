"""API authentication: `Authorization: Bearer <token>` with DRF's token model."""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
