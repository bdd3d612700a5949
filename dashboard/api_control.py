"""The control API: load, unload, promote and roll back a model; read the actions.

Views are short; the gate, rules and the one Action wire format live in fleet.control.
Every action answer is `fleet.control.record.serialize`'s `ActionRecord`; the serializers
below only describe it (and the requests) for the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.control import errors, record
from fleet.control.gate import check_control
from fleet.control.requests import request_action
from fleet.models import Action

from .refusals import status_of


class ActionSerializer(serializers.Serializer):
    """Describes fleet.control.record.ActionRecord for the schema; never builds an answer."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Action.Kind.choices)
    state = serializers.ChoiceField(choices=Action.State.choices)
    server = serializers.IntegerField(help_text="The server's id.")
    server_name = serializers.CharField()
    model = serializers.CharField()
    parameters = serializers.DictField(
        help_text="What was asked (version, confirm, unload_dependents) and, for promotions, "
        "what served before (previous_policy, previous_versions)."
    )
    requested_by = serializers.CharField(allow_null=True, help_text="The requester's username.")
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    elapsed_s = serializers.FloatField(
        allow_null=True, help_text="Seconds since it started (to its end once ended); null while queued."
    )
    estimate_s = serializers.FloatField(
        allow_null=True,
        help_text="While queued or running: median of this model's past load durations, or null.",
    )
    load_duration_s = serializers.FloatField(allow_null=True)
    result = serializers.CharField(help_text="Triton's answer, or what the verification saw.")
    error = serializers.CharField(help_text="Triton's error text, or why the action failed.")


class ActionAccepted(ActionSerializer):
    """202: the queued action, and its id again under the name earlier clients read."""

    action_id = serializers.IntegerField()


class ActionRequestSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="promote: the version to serve."
    )
    confirm = serializers.BooleanField(
        required=False, default=False, help_text="unload: required when the model served traffic lately."
    )
    unload_dependents = serializers.BooleanField(
        required=False, default=False, help_text="unload: also unload models that depend on it."
    )


class ActionRefused(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    action_id = serializers.IntegerField(required=False, help_text="409 in_progress: the blocking action.")


def refusal(exc: errors.ActionError) -> Response:
    status, code = status_of(exc)
    body: dict[str, Any] = {"detail": str(exc), "code": code}
    if isinstance(exc, errors.ActionInProgress) and exc.action is not None:
        body["action_id"] = exc.action.id
    return Response(body, status=status)


class ModelActionView(APIView):
    kind: str = ""

    @extend_schema(
        request=ActionRequestSerializer,
        responses={
            202: ActionAccepted,
            400: ActionRefused,
            403: ActionRefused,
            404: ActionRefused,
            409: ActionRefused,
        },
    )
    def post(self, request: Request, pk: int, name: str) -> Response:
        try:
            server = check_control(request.user, pk, name)
        except errors.ActionError as exc:
            return refusal(exc)
        body = ActionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            action = request_action(server, name, self.kind, request.user, **body.validated_data)
        except errors.ActionError as exc:
            return refusal(exc)
        return Response({**record.serialize(action), "action_id": action.id}, status=202)


def _action_view(kind: str, summary: str) -> type[ModelActionView]:
    doc = (
        f"{summary} Runs in the background: answers 202 with the queued action; poll GET "
        "/api/actions/{id}/ or listen for `fleet.action` on the dashboard's websocket (the same "
        "object). 409 `in_progress` while another action on the model is queued or running "
        "(the body names it)."
    )
    view = type(f"{kind.title()}ModelAction", (ModelActionView,), {"kind": kind, "__doc__": doc})
    return extend_schema(summary=summary, description=doc)(view)


LoadModel = _action_view(Action.Kind.LOAD, "Load (or reload) a model from its repository config.")
UnloadModel = _action_view(
    Action.Kind.UNLOAD,
    "Unload a model. 409 `confirm_required` when it served an inference within "
    'FLEET_UNLOAD_CONFIRM_WINDOW (5 min): send {"confirm": true}.',
)
PromoteModel = _action_view(
    Action.Kind.PROMOTE,
    'Serve version N only (body {"version": N}): reloads with version_policy specific [N].',
)
RollbackModel = _action_view(
    Action.Kind.ROLLBACK, "Serve again what served before the last successful promotion."
)


class ActionFilter(serializers.Serializer):
    server = serializers.IntegerField(required=False)
    model = serializers.CharField(required=False)
    state = serializers.ChoiceField(choices=Action.State.choices, required=False)
    user = serializers.CharField(required=False, help_text="username of the requester")
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)


_ROWS = Action.objects.select_related("server", "requested_by")


class ActionList(APIView):
    @extend_schema(parameters=[ActionFilter], responses=ActionSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Actions, newest first, filtered by server id, model, state and requester."""
        params = ActionFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rows = _ROWS.all()
        for key, lookup in (("server", "server_id"), ("model", "model"), ("state", "state")):
            if key in data:
                rows = rows.filter(**{lookup: data[key]})
        if "user" in data:
            rows = rows.filter(requested_by__username=data["user"])
        return Response([record.serialize(action) for action in rows[: data["limit"]]])


class ActionDetail(APIView):
    @extend_schema(responses=ActionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """One action: its state, Triton's answer or error, timings and load estimate."""
        return Response(record.serialize(get_object_or_404(_ROWS, pk=pk)))
