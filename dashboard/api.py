"""The REST read API (and server registration). Views are short; rules live in fleet.

The control endpoints (load, unload, promote, rollback, actions) are in api_control.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet import series, storage, trends
from fleet.catalog import METRICS
from fleet.control import footprint
from fleet.models import ModelVersion, Server, validate_http_url
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

    def validate_labels(self, value: Any) -> dict[str, str]:
        """Labels select servers for deployments: {name: value}, both strings."""
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and len(k) <= 100 and len(v) <= 200
            for k, v in value.items()
        ):
            raise serializers.ValidationError("labels must be an object of short strings: {name: value}")
        return value


class ServerDetail(generics.RetrieveUpdateAPIView):
    """One server; admins change it (its labels, which deployments select servers by)."""

    queryset = Server.objects.all()
    serializer_class = ServerSerializer
    http_method_names = ["get", "patch", "head", "options"]


class ServerList(generics.ListCreateAPIView):
    """List the fleet; admins register a server (scraped at once, as any server created
    anywhere is: see fleet/signals.py; then every tick)."""

    queryset = Server.objects.all()
    serializer_class = ServerSerializer


class ModelVersionSerializer(serializers.ModelSerializer):
    memory_bytes = serializers.SerializerMethodField(
        help_text="The model's measured memory on this server (median of its last loads' gauge "
        "deltas), else statistics' memory_usage or its declared size; null when unknown."
    )
    load_s = serializers.SerializerMethodField(help_text="Seconds its last load took (cold start).")
    last_inference_at = serializers.SerializerMethodField(
        help_text="Statistics' last_inference (ISO 8601, Triton's clock); null if none since loaded."
    )

    class Meta:
        model = ModelVersion
        fields = ["name", "version", "state", "reason", "memory_bytes", "load_s", "last_inference_at"]

    def get_memory_bytes(self, row: ModelVersion) -> int | None:
        return self.context.get("memory", {}).get(row.name)

    def get_load_s(self, row: ModelVersion) -> float | None:
        return self.context.get("load_s", {}).get(row.name)

    def get_last_inference_at(self, row: ModelVersion) -> str | None:
        if not row.last_inference_ms:
            return None
        at = datetime.fromtimestamp(row.last_inference_ms / 1000, tz=UTC)
        return at.isoformat().replace("+00:00", "Z")


class ServerModels(generics.ListAPIView):
    """Every model in the server's repository, per version, with Triton's state and reason,
    its measured memory, last load time and last inference."""

    serializer_class = ModelVersionSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        server = get_object_or_404(Server, pk=self.kwargs["pk"])
        return ModelVersion.objects.filter(server=server)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        server_id = self.kwargs["pk"]
        context.update(memory=footprint.figures(server_id), load_s=footprint.load_seconds(server_id))
        return context


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
