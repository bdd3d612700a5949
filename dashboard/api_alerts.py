"""The on-call API: alert rules (operators write, viewers read), alerts and their silences,
webhooks and their delivery log (admins). Views are short; the rules, the state machine and
the one wire format of each object live in fleet.alerting; the serializers below validate
requests and describe the answers for the OpenAPI schema, never building one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.alerting import records, rules, silence, timeline, webhooks
from fleet.models import Alert, AlertRule, Server, Webhook

RECENT = 200  # alerts listed at most


class RuleSerializer(serializers.Serializer):
    """fleet.alerting.records.RuleRecord; a POST or PATCH sends the writable fields."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=AlertRule.Kind.choices)
    threshold = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="queue_time: µs per request; failure_rate: failures/s; unused otherwise.",
    )
    for_s = serializers.FloatField(required=False, min_value=0, help_text="Seconds before it fires.")
    selector = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Server labels to match (all of them)."
    )
    server = serializers.IntegerField(required=False, allow_null=True, help_text="One server's id.")
    model = serializers.CharField(required=False, allow_blank=True, help_text="One model (model kinds).")
    enabled = serializers.BooleanField(required=False)
    builtin = serializers.BooleanField(read_only=True)


class AlertSerializer(serializers.Serializer):
    """fleet.alerting.records.AlertRecord (also the `fleet.alert` websocket frame)."""

    id = serializers.IntegerField()
    rule = serializers.IntegerField()
    rule_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=AlertRule.Kind.choices)
    server_id = serializers.IntegerField(allow_null=True)
    server_name = serializers.CharField()
    model = serializers.CharField()
    state = serializers.ChoiceField(choices=Alert.State.choices)
    value = serializers.FloatField(allow_null=True)
    cause = serializers.CharField(
        help_text='Why, with figures: "saturated: the model\'s 1 instance busy 0.97…"'
    )
    detail = serializers.DictField(help_text="The figures behind the cause (code, busy, instances, …).")
    started_at = serializers.DateTimeField()
    fired_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    silenced_until = serializers.DateTimeField(allow_null=True)
    silenced = serializers.BooleanField()
    silenced_by = serializers.CharField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(allow_null=True, help_text="Who is on it.")


class Invalid(serializers.Serializer):
    field = serializers.ListField(child=serializers.CharField(), help_text="Keyed by the field refused.")


def _invalid(exc: rules.RuleInvalid) -> Response:
    return Response({exc.field: [exc.message]}, status=400)


class RuleList(APIView):
    @extend_schema(responses=RuleSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every alert rule (the defaults included)."""
        return Response([records.rule(r) for r in AlertRule.objects.all()])

    @extend_schema(request=RuleSerializer, responses={201: RuleSerializer, 400: Invalid})
    def post(self, request: Request) -> Response:
        """Create a rule (operators). 400 names the field: an unknown kind, a negative
        threshold, a selector that matches no server."""
        data = request.data if isinstance(request.data, dict) else {}
        try:
            rule = rules.create(dict(data), request.user)
        except rules.RuleInvalid as exc:
            return _invalid(exc)
        return Response(records.rule(rule), status=201)


class RuleDetail(APIView):
    @extend_schema(request=RuleSerializer, responses={200: RuleSerializer, 400: Invalid})
    def patch(self, request: Request, pk: int) -> Response:
        """Change a rule (operators); fields left out keep their value."""
        rule = get_object_or_404(AlertRule, pk=pk)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            rule = rules.update(rule, dict(data), request.user)
        except rules.RuleInvalid as exc:
            return _invalid(exc)
        return Response(records.rule(rule))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete a rule and its alerts (operators)."""
        rules.delete(get_object_or_404(AlertRule, pk=pk), request.user)
        return Response(status=204)


class AlertList(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=Alert.State.values, required=False),
            OpenApiParameter("server", OpenApiTypes.INT, required=False),
            OpenApiParameter("model", OpenApiTypes.STR, required=False),
        ],
        responses=AlertSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """Alerts, newest first (at most 200): optionally of one state, server or model."""
        rows = Alert.objects.select_related(*records.RELATED)
        state = request.query_params.get("state")
        if state:
            if state not in Alert.State.values:
                return Response({"state": [f"one of {', '.join(Alert.State.values)}"]}, status=400)
            rows = rows.filter(state=state)
        server = request.query_params.get("server")
        if server:
            if not server.isdigit():
                return Response({"server": ["a server id"]}, status=400)
            rows = rows.filter(server_id=int(server))
        if "model" in request.query_params:
            rows = rows.filter(model=request.query_params["model"])
        return Response([records.alert(a) for a in rows[:RECENT]])


class SilenceRequest(serializers.Serializer):
    seconds = serializers.FloatField(
        min_value=0, max_value=silence.MAX_SECONDS, help_text="From now; 0 lifts the silence."
    )


class SilenceAlert(APIView):
    @extend_schema(request=SilenceRequest, responses={200: AlertSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Silence an alert for a while (operators; audited): it still shows, marked, and
        sends no webhook."""
        alert = get_object_or_404(Alert, pk=pk)
        body = SilenceRequest(data=request.data)
        body.is_valid(raise_exception=True)
        row = silence.silence(alert, body.validated_data["seconds"], request.user)
        return Response(records.alert(row))


class AcknowledgeAlert(APIView):
    @extend_schema(request=None, responses={200: AlertSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Acknowledge an alert (operators; audited): it says who is on it; webhooks and the
        banner carry on."""
        alert = get_object_or_404(Alert, pk=pk)
        return Response(records.alert(silence.acknowledge(alert, request.user)))


class WebhookSerializer(serializers.Serializer):
    """fleet.alerting.records.WebhookRecord; a POST sends url and format."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.CharField(max_length=500, help_text="http:// or https:// only.")
    format = serializers.ChoiceField(choices=Webhook.Format.choices)
    enabled = serializers.BooleanField(read_only=True)
    failing = serializers.BooleanField(read_only=True, help_text="The last delivery ran out of attempts.")
    created_at = serializers.DateTimeField(read_only=True)


class DeliverySerializer(serializers.Serializer):
    """fleet.alerting.records.DeliveryRecord."""

    id = serializers.IntegerField()
    webhook = serializers.IntegerField()
    alert = serializers.IntegerField()
    event = serializers.CharField(help_text="firing or resolved")
    status = serializers.CharField(help_text="pending, sent or failed")
    attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class WebhookList(APIView):
    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The webhooks (admins: their URLs are secrets)."""
        return Response([records.webhook(w) for w in Webhook.objects.all()])

    @extend_schema(request=WebhookSerializer, responses={201: WebhookSerializer, 400: Invalid})
    def post(self, request: Request) -> Response:
        """Add a webhook (admins): an http(s) URL and a format (alertmanager, slack, json)."""
        body = WebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            hook = webhooks.create(body.validated_data["url"], body.validated_data["format"], request.user)
        except ValidationError as exc:
            return Response({"url": exc.messages}, status=400)
        return Response(records.webhook(hook), status=201)


class WebhookDeliveries(APIView):
    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """The webhook's delivery log, newest first (at most 200)."""
        hook = get_object_or_404(Webhook, pk=pk)
        return Response([records.delivery(d) for d in hook.deliveries.all()[:RECENT]])


class TimelineEntrySerializer(serializers.Serializer):
    """fleet.alerting.timeline.Entry."""

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["state", "action", "rollout", "alert", "config", "down", "up"])
    model = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    ref = serializers.IntegerField(
        allow_null=True, help_text="The action's, rollout's, alert's or change's id."
    )


class Timeline(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("model", OpenApiTypes.STR, required=False, description="One model's timeline."),
            OpenApiParameter("hours", OpenApiTypes.NUMBER, required=False, description="Default 24."),
        ],
        responses=TimelineEntrySerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        """The server's (or one model's) incident timeline, newest first: index state
        changes, actions, alerts firing and resolving, the server down and up."""
        server = get_object_or_404(Server, pk=pk)
        try:
            hours = float(request.query_params.get("hours", 24))
        except ValueError:
            hours = -1
        if not 0 < hours <= 24 * 90:
            return Response({"hours": ["a number of hours, up to 2160"]}, status=400)
        return Response(timeline.timeline(server, request.query_params.get("model"), hours))
