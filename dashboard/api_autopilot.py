"""The autopilot API: a server's policy (read by viewers, written by admins) and
ensure-loaded. Views are short; the rules live in fleet.autopilot."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.autopilot import policy
from fleet.control import errors
from fleet.models import Server

from .api_control import ActionRefused, refusal


class PolicySerializer(serializers.Serializer):
    """Validates a PUT and describes fleet.autopilot.policy.PolicyRecord for the schema."""

    server = serializers.IntegerField(read_only=True)
    enabled = serializers.BooleanField(required=False)
    memory_budget_bytes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Bytes the loaded models' measured footprints may take (GPU bytes summed over "
        "the server's GPUs, or host bytes on a CPU-only server); null: no budget.",
    )
    idle_unload_s = serializers.FloatField(
        required=False, allow_null=True, min_value=1, help_text="Unload a model idle this long; null: never."
    )
    pinned = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, help_text="Models never evicted."
    )
    dry_run = serializers.BooleanField(required=False, help_text="Show the plan; change nothing.")
    pinned_bytes = serializers.IntegerField(read_only=True)


class Autopilot(APIView):
    @extend_schema(responses=PolicySerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The server's autopilot policy (off by default)."""
        server = get_object_or_404(Server, pk=pk)
        return Response(policy.serialize(policy.of(server)))

    @extend_schema(request=PolicySerializer, responses={200: PolicySerializer, 400: ActionRefused})
    def put(self, request: Request, pk: int) -> Response:
        """Change the policy (admins); fields left out keep their value. A budget smaller than
        the pinned models' footprint is refused (400, naming the sum)."""
        server = get_object_or_404(Server, pk=pk)
        body = PolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            changed = policy.update(server, dict(body.validated_data))
        except errors.ActionError as exc:
            return refusal(exc)
        return Response(policy.serialize(changed))
