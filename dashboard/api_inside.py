"""Inside a server (issue 14): an ensemble's pipeline, the batches a model forms (and
changing them), the server's internals. Views are short; the rules live in fleet.inside.

The serializers only describe the answers (fleet.inside's records) for the schema.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet import triton
from fleet.control import errors, record
from fleet.control.gate import check_control
from fleet.control.requests import is_plain_model_name
from fleet.inside import batching, debug, internals, pipeline
from fleet.models import DebugSession, Server

from .api_control import ActionAccepted, ActionRefused, refusal


class Unavailable(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


def _unavailable(exc: Exception, status: int = 502) -> Response:
    return Response(
        {"detail": str(exc), "code": "triton_error" if status == 502 else "not_found"}, status=status
    )


class StepSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    model = serializers.CharField()
    version = serializers.IntegerField(help_text="-1: the newest READY version.")
    inputs = serializers.DictField(child=serializers.CharField(), help_text="step input -> ensemble tensor")
    outputs = serializers.DictField(child=serializers.CharField(), help_text="step output -> ensemble tensor")
    inferences_per_s = serializers.FloatField(allow_null=True)
    queue_us = serializers.FloatField(allow_null=True, help_text="Queue µs per request.")
    compute_us = serializers.FloatField(
        allow_null=True, help_text="Compute (input+infer+output) µs per request."
    )
    pending = serializers.FloatField(allow_null=True)
    time_us = serializers.FloatField(allow_null=True, help_text="Queue + compute µs per request.")
    bottleneck = serializers.BooleanField()


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField(help_text='"input:<tensor>" or "step:<index>"')  # type: ignore[assignment]
    target = serializers.CharField(help_text='"step:<index>" or "output:<tensor>"')
    tensor = serializers.CharField()


class PipelineSerializer(serializers.Serializer):
    """Describes fleet.inside.pipeline.PipelineRecord."""

    server = serializers.IntegerField()
    model = serializers.CharField()
    inputs = serializers.ListField(child=serializers.CharField())
    outputs = serializers.ListField(child=serializers.CharField())
    steps = StepSerializer(many=True)
    edges = EdgeSerializer(many=True)
    bottleneck = serializers.IntegerField(
        allow_null=True, help_text="The step adding the most time per request."
    )
    at = serializers.FloatField(allow_null=True, help_text="The scrape the figures come from (unix s).")


class Pipeline(APIView):
    @extend_schema(responses={200: PipelineSerializer, 404: Unavailable})
    def get(self, request: Request, pk: int, name: str) -> Response:
        """An ensemble's DAG (inputs, steps, outputs, tensors on the edges), each step with its
        live figures from the server's newest scrape, and the bottleneck step. 404 for a model
        that is not an ensemble (or whose config is not read yet)."""
        server = get_object_or_404(Server, pk=pk)
        try:
            return Response(pipeline.pipeline(server, name))
        except pipeline.NotAnEnsemble as exc:
            return _unavailable(exc, 404)


class WindowSerializer(serializers.Serializer):
    seconds = serializers.FloatField(allow_null=True, help_text="null: since the model loaded.")
    histogram = serializers.ListField(child=serializers.DictField(), help_text="[{size, executions}]")
    mean_batch_size = serializers.FloatField(allow_null=True)
    inferences_per_execution = serializers.FloatField(allow_null=True)
    inferences_per_s = serializers.FloatField(allow_null=True)
    queue_us_per_request = serializers.FloatField(allow_null=True)


class BatchingSerializer(serializers.Serializer):
    """Describes fleet.inside.batching.BatchingRecord."""

    server = serializers.IntegerField()
    model = serializers.CharField()
    settings = serializers.DictField(
        help_text="max_batch_size, dynamic_batching, max_queue_delay_microseconds, preferred_batch_size"
    )
    window = WindowSerializer()
    change = serializers.DictField(
        allow_null=True,
        help_text="The latest change: action, state, asked, previous, error, compare {before, after} "
        "(equal windows, once it succeeded).",
    )


class BatchingParams(serializers.Serializer):
    since = serializers.FloatField(required=False, default=60, min_value=1, max_value=86400)


class BatchingChange(serializers.Serializer):
    max_queue_delay_microseconds = serializers.IntegerField(required=False, min_value=0, max_value=10_000_000)
    preferred_batch_size = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=16
    )
    revert = serializers.BooleanField(
        required=False, default=False, help_text="Load the config of before the latest change."
    )


class Batching(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("since", float, description="Window in seconds (default 60).")],
        responses={200: BatchingSerializer, 502: Unavailable},
    )
    def get(self, request: Request, pk: int, name: str) -> Response:
        """The batch sizes Triton formed over the window (statistics' batch_stats, the delta
        of two reads), the ratio of inferences to executions, queue µs per request, the
        batching settings, and the latest change with before and after."""
        server = get_object_or_404(Server, pk=pk)
        if not is_plain_model_name(name):
            return _unavailable(LookupError(f"{name!r} is not a plain model name"), 404)
        params = BatchingParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            return Response(batching.view(server, name, params.validated_data["since"]))
        except triton.TritonError as exc:
            return _unavailable(exc)


class ChangeBatching(APIView):
    @extend_schema(
        request=BatchingChange,
        responses={
            202: ActionAccepted,
            400: ActionRefused,
            403: ActionRefused,
            404: ActionRefused,
            409: ActionRefused,
        },
    )
    def post(self, request: Request, pk: int, name: str) -> Response:
        """Apply a new max_queue_delay_microseconds and/or preferred_batch_size (operators):
        a config-override load through an action (audited, one at a time per model). A config
        Triton refuses leaves the old one serving; the action carries Triton's error.
        {"revert": true} loads the config that served before the latest change."""
        try:
            server = check_control(request.user, pk, name)
        except errors.ActionError as exc:
            return refusal(exc)
        body = BatchingChange(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            action = batching.request_change(server, name, request.user, dict(body.validated_data))
        except errors.ActionError as exc:
            return refusal(exc)
        except triton.TritonError as exc:
            return _unavailable(exc)
        return Response({**record.serialize(action), "action_id": action.id}, status=202)


class InternalsSerializer(serializers.Serializer):
    """Describes fleet.inside.internals.InternalsRecord."""

    server = serializers.IntegerField()
    triton = serializers.DictField(help_text="{version, extensions}, or {error}")
    rate_limiter = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{model, groups: [{name, count, resources, priority}], pending}]",
    )
    cache = serializers.DictField(
        help_text="{enabled, models: [{model, hits, misses, lookups, hit_ratio}], totals}"
    )
    pinned_memory = serializers.DictField(help_text="{total_bytes, used_bytes}")
    shared_memory = serializers.DictField(help_text="{system: [regions], cuda: [regions]}")


class Internals(APIView):
    @extend_schema(responses=InternalsSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The server's rate limiter (per model, from configs), response cache, registered
        shared-memory regions, pinned memory pool, and Triton's version and extensions; a
        part the server does not answer shows its error."""
        return Response(internals.internals(get_object_or_404(Server, pk=pk)))


class DebugSessionSerializer(serializers.Serializer):
    """Describes fleet.inside.debug.DebugRecord."""

    id = serializers.IntegerField()
    server = serializers.IntegerField()
    model = serializers.CharField()
    state = serializers.CharField(help_text="active, reverted, or failed (the revert could not be applied).")
    requested_by = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    previous = serializers.DictField(help_text="What was in force before: {logging, trace}.")
    applied = serializers.DictField(help_text="What the session set.")
    notes = serializers.CharField(help_text="What the server could not do (a missing extension).")
    reverted_at = serializers.DateTimeField(allow_null=True)
    reverted_by = serializers.CharField(help_text="A username, 'timer' or 'sweep'.")
    revert_error = serializers.CharField()


class DebugRequest(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=debug.MIN_MINUTES, max_value=debug.MAX_MINUTES)


class DebugSessions(APIView):
    @extend_schema(responses=DebugSessionSerializer(many=True))
    def get(self, request: Request, pk: int, name: str) -> Response:
        """The model's debug sessions on this server, newest first."""
        server = get_object_or_404(Server, pk=pk)
        rows = DebugSession.objects.filter(server=server, model=name).select_related("requested_by")[:20]
        return Response([debug.serialize(s) for s in rows])


class Debug(APIView):
    @extend_schema(
        request=DebugRequest,
        responses={201: DebugSessionSerializer, 400: ActionRefused, 403: ActionRefused, 409: ActionRefused},
    )
    def post(self, request: Request, pk: int, name: str) -> Response:
        """Start a debug session (operators): log verbosity raised (/v2/logging) and the
        model's trace rate 1 for `minutes` (1-120), then reverted automatically; a server
        lacking the logging or trace extension gets what it has, noted on the session."""
        try:
            server = check_control(request.user, pk, name)
        except errors.ActionError as exc:
            return refusal(exc)
        body = DebugRequest(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            session = debug.start(server, name, request.user, body.validated_data["minutes"])
        except errors.ActionError as exc:
            return refusal(exc)
        except triton.TritonError as exc:
            return _unavailable(exc)
        return Response(debug.serialize(session), status=201)

    @extend_schema(request=None, responses={200: DebugSessionSerializer, 404: ActionRefused})
    def delete(self, request: Request, pk: int, name: str) -> Response:
        """Revert the model's active debug session now (operators)."""
        try:
            server = check_control(request.user, pk, name)
        except errors.ActionError as exc:
            return refusal(exc)
        session = DebugSession.objects.filter(
            server=server, model=name, state=DebugSession.State.ACTIVE
        ).first()
        if session is None:
            return Response({"detail": f"no active debug session on {name}", "code": "not_found"}, status=404)
        debug.revert(session.id, request.user.username, early=True)
        session.refresh_from_db()
        return Response(debug.serialize(session))
