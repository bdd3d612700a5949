"""The owner's API tokens: list, create (shown once) and revoke.

Tokens are django-rest-knox's: only a SHA-512 digest is stored, each has an expiry, and its
first 15 characters (knox's lookup key) identify it as `prefix`. A token minted with a
token expires no later than that token, so a leaked token cannot outlive its own expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def issue(user: Any, days: float, not_after: datetime | None = None) -> tuple[AuthToken, str]:
    """A new token for user, valid for `days` (and not past `not_after`): (row, token)."""
    row, token = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
    if not_after is not None and row.expiry > not_after:
        row.expiry = not_after
        row.save(update_fields=["expiry"])
    return row, token


def live(user: Any) -> Any:
    """The user's tokens that still work, newest first."""
    now = timezone.now()
    return (
        AuthToken.objects.filter(user=user)
        .filter(Q(expiry__gt=now) | Q(expiry__isnull=True))
        .order_by("-created")
    )


class TokenSerializer(serializers.Serializer):
    prefix = serializers.CharField(source="token_key", help_text="The token's first 15 characters.")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.SerializerMethodField(help_text="Whether this request came with this token.")

    def get_current(self, token: AuthToken) -> bool:
        used = self.context.get("used")
        return isinstance(used, AuthToken) and used.digest == token.digest


class NewTokenRequest(serializers.Serializer):
    expires_days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Days until it expires (default FLEET_API_TOKEN_DAYS, at most FLEET_API_TOKEN_MAX_DAYS).",
    )

    def validate_expires_days(self, value: int) -> int:
        if value > settings.FLEET_API_TOKEN_MAX_DAYS:
            raise serializers.ValidationError(f"at most {settings.FLEET_API_TOKEN_MAX_DAYS} days")
        return value


class NewToken(TokenSerializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown only now.")


class TokenList(APIView):
    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Your API tokens that have not expired, newest first."""
        rows = live(request.user)
        return Response(TokenSerializer(rows, many=True, context={"used": request.auth}).data)

    @extend_schema(request=NewTokenRequest, responses={201: NewToken})
    def post(self, request: Request) -> Response:
        """A new API token for you; the answer is the only time it is shown."""
        body = NewTokenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        days = body.validated_data.get("expires_days", settings.FLEET_API_TOKEN_DAYS)
        used = request.auth if isinstance(request.auth, AuthToken) else None
        row, token = issue(request.user, days, used.expiry if used else None)
        data = dict(TokenSerializer(row).data, token=token)
        return Response(data, status=201)


class TokenDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, prefix: str) -> Response:
        """Revoke one of your tokens (the one you send included)."""
        deleted, _ = AuthToken.objects.filter(user=request.user, token_key=prefix).delete()
        if not deleted:
            raise NotFound("You have no token with this prefix.")
        return Response(status=204)
