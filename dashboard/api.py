"""The REST read API (and server registration). Views are short; rules live in fleet."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet import roles, series, storage, tasks, trends
from fleet.catalog import METRICS
from fleet.control import errors, record
from fleet.control.requests import is_plain_model_name, model_in_repository, request_action
from fleet.models import Action, ModelVersion, Server, validate_http_url
from fleet.prometheus import PrometheusError


def _url_field(required: bool) -> serializers.CharField:
    return serializers.CharField(
        max_length=500, required=required, validators=[validate_http_url], allow_blank=not required
    )


class ServerSerializer(serializers.ModelSerializer):
    url = _url_field(required=True)
    metrics_url = _url_field(required=False)

    class Meta:
        model = Server
        fields = [
            "id", "name", "url", "metrics_url", "labels", "auth_header_name", "auth_header_value",
            "status", "last_scrape_at", "last_error",
        ]  # fmt: skip
        read_only_fields = ["status", "last_scrape_at", "last_error"]
        # The --http-restricted-api secret goes in, never out (answers, schema examples, logs).
        extra_kwargs = {"auth_header_value": {"write_only": True}}


class ServerList(generics.ListCreateAPIView):
    """List the fleet; admins register a server (it is scraped at once, then every tick)."""

    queryset = Server.objects.all()
    serializer_class = ServerSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        server = serializer.save()
        transaction.on_commit(lambda: tasks.scrape.delay(server.id))


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["name", "version", "state", "reason"]


class ServerModels(generics.ListAPIView):
    """Every model in the server's repository, per version, with Triton's state and reason."""

    serializer_class = ModelVersionSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        server = get_object_or_404(Server, pk=self.kwargs["pk"])
        return ModelVersion.objects.filter(server=server)


_METRIC_DOC = "; ".join(
    f"`{name}` ({info.unit}, {info.level}): {info.description}" for name, info in METRICS.items()
)


class SeriesParams(serializers.Serializer):
    metric = serializers.ChoiceField(choices=sorted(METRICS), help_text=_METRIC_DOC)
    model = serializers.CharField(required=False, default="", allow_blank=True)
    version = serializers.CharField(required=False)
    # The metaclass takes declared fields off the class, so this shadows nothing at run time.
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    since = serializers.IntegerField(required=False, default=3600, min_value=1, max_value=90 * 86400)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        level = METRICS[attrs["metric"]].level
        if level == "model" and not attrs["model"]:
            raise serializers.ValidationError({"model": f"{attrs['metric']} is per model: name one."})
        if level == "server" and attrs["model"]:
            raise serializers.ValidationError({"model": f"{attrs['metric']} is per server: omit model."})
        return attrs


class SeriesSerializer(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.CharField()
    points = serializers.ListField(
        child=serializers.ListField(
            child=serializers.FloatField(allow_null=True), min_length=2, max_length=2
        ),
        help_text="[[unix_seconds, value], ...]; a null value marks a gap (server down, model unloaded).",
    )


class ServerSeries(APIView):
    @extend_schema(
        parameters=[
            SeriesParams,
            OpenApiParameter("since", OpenApiTypes.INT, description="Window in seconds back from now."),
        ],
        responses=SeriesSerializer,
        description="A metric of a server or of a model on it. " + _METRIC_DOC,
    )
    def get(self, request: Request, pk: int) -> Response:
        server = get_object_or_404(Server, pk=pk)
        params = SeriesParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        query = storage.SeriesQuery(
            server=server,
            metric=data["metric"],
            since=timedelta(seconds=data["since"]),
            model=data["model"],
            version=data.get("version"),
            label=data.get("label"),
        )
        try:
            points = series.points(query)
        except PrometheusError as exc:
            return Response({"detail": f"Prometheus: {exc}"}, status=502)
        return Response(
            {
                "metric": data["metric"],
                "unit": METRICS[data["metric"]].unit,
                "points": [list(p) for p in points],
            }
        )


class SparklineSerializer(serializers.Serializer):
    server = serializers.IntegerField()
    points = serializers.ListField(
        child=serializers.ListField(
            child=serializers.FloatField(allow_null=True), min_length=2, max_length=2
        ),
        help_text="[[bucket start unix seconds, mean inferences/s], ...]; null: no scrape in the bucket.",
    )


class SparklinesSerializer(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.CharField()
    step = serializers.FloatField(help_text="Bucket width in seconds.")
    servers = SparklineSerializer(many=True)


class FleetSparklines(APIView):
    @extend_schema(responses=SparklinesSerializer)
    def get(self, request: Request) -> Response:
        """Every server's inferences/s (all its models) over the last 15 minutes, in buckets:
        the overview's sparklines, in one request for the whole fleet."""
        step, lines = trends.sparklines(list(Server.objects.all()))
        return Response(
            {
                "metric": trends.SPARKLINE_METRIC,
                "unit": METRICS[trends.SPARKLINE_METRIC].unit,
                "step": step,
                "servers": [
                    {"server": sid, "points": [list(p) for p in points]} for sid, points in lines.items()
                ],
            }
        )


# --- Control actions -------------------------------------------------------------------------


class ActionSerializer(serializers.ModelSerializer):
    requested_by = serializers.SerializerMethodField()
    server_name = serializers.CharField(source="server.name", read_only=True)
    elapsed_s = serializers.SerializerMethodField(
        help_text="Seconds since it started (to its end once ended)."
    )
    estimate_s = serializers.SerializerMethodField(
        help_text="While queued or running: median of this model's past load durations, or null."
    )

    class Meta:
        model = Action
        fields = [
            "id", "kind", "state", "server", "server_name", "model", "parameters", "requested_by",
            "requested_at", "started_at", "finished_at", "elapsed_s", "estimate_s", "load_duration_s",
            "result", "error",
        ]  # fmt: skip
        read_only_fields = fields

    def get_requested_by(self, action: Action) -> str | None:
        return action.requested_by.username if action.requested_by else None

    def get_elapsed_s(self, action: Action) -> float | None:
        return record.elapsed_s(action)

    def get_estimate_s(self, action: Action) -> float | None:
        return record.estimate_s(action)


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


class ActionAccepted(serializers.Serializer):
    action_id = serializers.IntegerField()
    state = serializers.CharField()


class ActionRefused(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    action_id = serializers.IntegerField(required=False, help_text="409 in_progress: the blocking action.")


_REFUSALS: list[tuple[type[errors.ActionError], int, str]] = [
    (errors.InvalidRequest, 400, "invalid"),
    (errors.UnknownModel, 404, "not_found"),
    (errors.ConfirmationRequired, 409, "confirm_required"),
    (errors.ActionInProgress, 409, "in_progress"),
]


def refusal(exc: errors.ActionError) -> Response:
    status, code = next((s, c) for cls, s, c in _REFUSALS if isinstance(exc, cls))
    body: dict[str, Any] = {"detail": str(exc), "code": code}
    if isinstance(exc, errors.ActionInProgress) and exc.action is not None:
        body["action_id"] = exc.action.id
    return Response(body, status=status)


def check_control(request: Request, pk: int, name: str) -> Server:
    """The fixed order: read-only → 403, bad name → 400, unknown server/model → 404, role → 403."""
    if settings.FLEET_READ_ONLY:
        raise PermissionDenied("FleetDeck is read-only (FLEET_READ_ONLY): control is disabled.")
    if not is_plain_model_name(name):
        raise ValidationError({"model": f"{name!r} is not a plain model name."})
    server = get_object_or_404(Server, pk=pk)
    if not model_in_repository(server, name):
        raise NotFound(f"No model {name!r} in the repository of {server.name}.")
    if not roles.is_operator(request.user):
        raise PermissionDenied("Only fleet operators can load, unload, promote or roll back models.")
    return server


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
        server = check_control(request, pk, name)
        body = ActionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            action = request_action(server, name, self.kind, request.user, **body.validated_data)
        except errors.ActionError as exc:
            return refusal(exc)
        return Response({"action_id": action.id, "state": action.state}, status=202)


def _action_view(kind: str, summary: str) -> type[ModelActionView]:
    doc = (
        f"{summary} Runs in the background: poll GET /api/actions/{{action_id}}/ or listen for "
        "`fleet.action` on the dashboard's websocket. 409 `in_progress` while another action on "
        "the model is queued or running (the body names it)."
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


class ActionList(APIView):
    @extend_schema(parameters=[ActionFilter], responses=ActionSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Actions, newest first, filtered by server id, model, state and requester."""
        params = ActionFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rows = Action.objects.select_related("server", "requested_by")
        for key, lookup in (("server", "server_id"), ("model", "model"), ("state", "state")):
            if key in data:
                rows = rows.filter(**{lookup: data[key]})
        if "user" in data:
            rows = rows.filter(requested_by__username=data["user"])
        return Response(ActionSerializer(rows[: data["limit"]], many=True).data)


class ActionDetail(generics.RetrieveAPIView):
    """One action: its state, Triton's answer or error, timings and load estimate."""

    queryset = Action.objects.select_related("server", "requested_by")
    serializer_class = ActionSerializer
