"""The deployments API: desired state (operators and admins write, viewers read), rollouts
and their pause/resume/abort. Views are short; the rules live in fleet.deploy. Answers are
fleet.deploy.record's wire formats; the serializers below only describe them."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.control import errors
from fleet.control.requests import request_action
from fleet.deploy import record, rollout, selector, spec
from fleet.models import Action, Deployment, DeploymentTarget, Rollout

from .api_control import ActionRefused, refusal


class TargetSerializer(serializers.Serializer):
    server_id = serializers.IntegerField()
    server_name = serializers.CharField()
    state = serializers.ChoiceField(choices=DeploymentTarget.State.choices)
    actual_versions = serializers.ListField(child=serializers.CharField())
    detail = serializers.CharField(help_text="What differs, and why nothing is done about it yet.")
    error = serializers.CharField(help_text="Triton's error of the last failed load.")


class DeploymentSerializer(serializers.Serializer):
    """Describes a deployment (fleet.deploy.record.DeploymentRecord) and its requests."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100)
    model = serializers.CharField(max_length=200)
    selector = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="{label: value}: every pair must match."
    )
    servers = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        write_only=True,
        help_text="Server ids, instead of a selector.",
    )
    server_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    versions = serializers.JSONField(help_text='A list of version numbers, or "latest".')
    pinned = serializers.BooleanField(required=False)
    paused = serializers.BooleanField(required=False, help_text="Reconcile leaves its servers alone.")
    config = serializers.DictField(required=False, help_text="Merged into the live config on each load.")
    smoke = serializers.DictField(
        required=False,
        help_text="Golden requests: {inputs: [{name, datatype, shape, data}], "
        "outputs: [{name, data, tolerance}]}.",
    )
    smoke_check = serializers.ChoiceField(
        choices=[spec.SMOKE_FITS, spec.SMOKE_AT_CANARY, ""],
        read_only=True,
        help_text="When the golden inputs were fitted to the model's inputs: `fits` when saved; "
        "`at_canary` when no server served the model then (no config to check against): the "
        "canary's smoke gate checks them before any inference; empty without golden requests.",
    )
    gates = serializers.DictField(
        required=False,
        help_text="{bake_s, max_failures_per_s, max_queue_ratio, queue_slack_us, max_unavailable, canary}.",
    )
    states = TargetSerializer(many=True, read_only=True, help_text="Answers carry it as `servers`.")
    rollout = serializers.IntegerField(read_only=True, allow_null=True, help_text="The rollout under way.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class RolloutStarted(serializers.Serializer):
    rollout_id = serializers.IntegerField()


class RolloutSerializer(serializers.Serializer):
    """Describes fleet.deploy.record.RolloutRecord."""

    id = serializers.IntegerField()
    deployment = serializers.IntegerField()
    deployment_name = serializers.CharField()
    model = serializers.CharField()
    state = serializers.ChoiceField(choices=Rollout.State.choices)
    from_versions = serializers.JSONField()
    to_versions = serializers.JSONField()
    wave = serializers.IntegerField(help_text="The index of the wave under way.")
    waves = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{servers, state, actions, gates: [{kind, server_id, passed, detail}]}]",
    )
    rolling_back = serializers.BooleanField()
    timeline = serializers.ListField(child=serializers.DictField())
    error = serializers.CharField()
    requested_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)


def _reconcile_soon(deployment_id: int) -> None:
    transaction.on_commit(
        lambda: current_app.signature(rollout.RECONCILE_TASK, args=(deployment_id,)).delay()
    )


def _read_only() -> Response | None:
    if settings.FLEET_READ_ONLY:
        return refusal(errors.ReadOnly("FleetDeck is read-only (FLEET_READ_ONLY): control is disabled."))
    return None


class DeploymentList(APIView):
    @extend_schema(responses=DeploymentSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every deployment with each of its servers' reconcile state."""
        return Response([record.serialize(d) for d in Deployment.objects.all()])

    @extend_schema(request=DeploymentSerializer, responses={201: DeploymentSerializer, 400: ActionRefused})
    def post(self, request: Request) -> Response:
        """Create a deployment (operators); reconcile brings its servers to it at once. 400
        names a selector that matches no server, or a golden input the model lacks."""
        try:
            deployment = spec.create(dict(request.data), request.user)
        except errors.ActionError as exc:
            return refusal(exc)
        _reconcile_soon(deployment.id)
        return Response(record.serialize(deployment), status=201)


class DeploymentDetail(APIView):
    @extend_schema(responses=DeploymentSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """One deployment, its servers' states and its history (who changed what, when)."""
        deployment = get_object_or_404(Deployment, pk=pk)
        return Response({**record.serialize(deployment), "history": record.history(deployment)})

    @extend_schema(
        request=DeploymentSerializer,
        responses={200: DeploymentSerializer, 202: RolloutStarted, 400: ActionRefused, 409: ActionRefused},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change a deployment. New versions start a rollout: 202 {rollout_id}; 409 while
        another rollout of it runs, changing nothing. Other fields apply at once (200)."""
        deployment = get_object_or_404(Deployment, pk=pk)
        data = dict(request.data)
        try:
            # One transaction: a refused rollout (409, read-only) leaves the other fields as
            # they were, never half of the change applied.
            with transaction.atomic():
                fields = spec.clean(data, deployment)
                versions = fields.pop("versions", None)
                if fields:
                    spec.change(deployment, fields, request.user)
                started = rollout.start(deployment, versions, request.user) if versions is not None else None
        except errors.ActionError as exc:
            return refusal(exc)
        _reconcile_soon(deployment.id)
        if started is not None:
            return Response({"rollout_id": started.id}, status=202)
        deployment.refresh_from_db()
        return Response(record.serialize(deployment))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete a deployment; its models stay where they are unless ?unload=true (then
        each server gets an unload action)."""
        deployment = get_object_or_404(Deployment, pk=pk)
        unload = request.query_params.get("unload", "").lower() in {"1", "true", "yes"}
        refused = _read_only() if unload else None
        if refused:
            return refused
        servers = selector.servers_of(deployment)
        spec.note(deployment, "deleted", {"unload": [None, unload]}, request.user)
        model = deployment.model
        deployment.delete()
        requested: list[int] = []
        if unload:
            for server in servers:
                try:
                    action = request_action(server, model, Action.Kind.UNLOAD, request.user, confirm=True)
                    requested.append(action.id)
                except errors.ActionError:
                    continue
        return Response(status=204, headers={"X-Unload-Actions": ",".join(map(str, requested))})


class RolloutDetail(APIView):
    @extend_schema(responses=RolloutSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """A rollout: waves, their servers, each gate's evidence, the timeline."""
        return Response(record.serialize_rollout(get_object_or_404(Rollout, pk=pk)))


class RolloutControl(APIView):
    verb = ""

    @extend_schema(request=None, responses={200: RolloutSerializer, 400: ActionRefused})
    def post(self, request: Request, pk: int) -> Response:
        found = get_object_or_404(Rollout, pk=pk)
        refused = _read_only() if self.verb != "pause" else None
        if refused:
            return refused
        try:
            changed = rollout.control(found, self.verb, request.user)
        except errors.ActionError as exc:
            return refusal(exc)
        return Response(record.serialize_rollout(changed))


def _control_view(verb: str, summary: str) -> Any:
    view = type(f"Rollout{verb.title()}", (RolloutControl,), {"verb": verb, "__doc__": summary})
    return extend_schema(summary=summary)(view)


RolloutPause = _control_view("pause", "Pause a rollout after its current step.")
RolloutResume = _control_view("resume", "Resume a paused rollout.")
RolloutAbort = _control_view(
    "abort", "Abort a rollout: every server it touched gets the previous versions back."
)
