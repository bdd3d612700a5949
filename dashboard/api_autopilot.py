"""The autopilot API: a server's policy (read by viewers, written by admins) and
ensure-loaded. Views are short; the rules live in fleet.autopilot."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.autopilot import ensure, policy
from fleet.control import errors
from fleet.control.gate import check_control
from fleet.models import Server

from . import token_cache
from .api_control import ActionRefused, refusal
from .auth import BearerTokenAuthentication


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


class EnsureParams(serializers.Serializer):
    wait = serializers.BooleanField(
        required=False, default=True, help_text="false: answer 202 with the action at once."
    )
    timeout = serializers.FloatField(
        required=False,
        min_value=0,
        help_text="Seconds to wait at most (then 202); default: the load timeout.",
    )


class EnsureAnswer(serializers.Serializer):
    """Describes fleet.autopilot.ensure.EnsureRecord for the schema."""

    state = serializers.CharField(help_text="READY; queued or running (202); FAILED (502).")
    loaded = serializers.BooleanField(help_text="Whether this call loaded it.")
    evicted = serializers.ListField(child=serializers.CharField())
    waited_s = serializers.FloatField()
    action_id = serializers.IntegerField(allow_null=True, help_text="The load requested or joined.")
    joined = serializers.BooleanField(help_text="It joined a load already under way.")
    would_evict = serializers.ListField(child=serializers.CharField(), help_text="Dry run: the plan.")
    error = serializers.CharField()


class EnsureModel(APIView):
    @extend_schema(
        parameters=[EnsureParams],
        request=None,
        responses={
            200: EnsureAnswer,
            202: EnsureAnswer,
            403: ActionRefused,
            404: ActionRefused,
            502: EnsureAnswer,
            507: ActionRefused,
        },
    )
    def post(self, request: Request, pk: int, name: str) -> Response:
        """Make the model READY (operators): 200 once it is, answered from FleetDeck's view
        when it already was; loads it otherwise, evicting least recently used unpinned
        models to stay within the autopilot's budget; concurrent calls join one load.
        507 when it fits nowhere (nothing evicted); 502 when the load failed."""
        try:
            server = check_control(request.user, pk, name)
        except errors.ActionError as exc:
            return refusal(exc)
        if isinstance(request.successful_authenticator, BearerTokenAuthentication):
            # Authorized (the access table's row, then the gate): the fast path in front of
            # Django may answer this token's READY calls for a few seconds.
            token_cache.remember(request.auth, request.user)
        body = request.data if isinstance(request.data, dict) else {}
        params = EnsureParams(data={**request.query_params.dict(), **body})
        params.is_valid(raise_exception=True)
        try:
            result = ensure.ensure(server, name, request.user, **params.validated_data)
        except ensure.DoesNotFit as exc:
            return Response({"detail": str(exc), "code": "insufficient_memory", **exc.numbers}, status=507)
        except errors.ActionError as exc:
            return refusal(exc)
        status = {"READY": 200, "FAILED": 502}.get(result.state, 202)
        return Response(result.record(), status=status)
