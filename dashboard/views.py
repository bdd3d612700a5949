"""Dashboard pages: short views, presentation only; the numbers come from fleet.overview."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fleet import catalog, overview, trends
from fleet.control import errors, record
from fleet.control.gate import check_control
from fleet.control.requests import request_action
from fleet.models import Action, Server

from . import pages, pages_deploy
from .refusals import status_of

log = logging.getLogger(__name__)


def _page(request: HttpRequest, extra: dict[str, Any]) -> dict[str, Any]:
    """What every live page carries for its script: interval, range, the metric catalog."""
    key, window = pages.parse_range(request.GET.get("range"))
    return {
        "interval": settings.FLEET_SCRAPE_INTERVAL,
        "range": key,
        "since": int(window.total_seconds()),
        "now": timezone.now().timestamp(),
        "metrics": catalog.seed(),
        **extra,
    }


def _server_state(server: Server) -> dict[str, Any]:
    return {
        "id": server.id,
        "name": server.name,
        "status": server.status,
        "last_scrape_at": server.last_scrape_at.timestamp() if server.last_scrape_at else None,
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    try:
        fleet = overview.fleet_overview()
        page = _page(
            request,
            {
                "ws": "/ws/fleet/",
                # The same objects the fleet socket sends (fleet.summary frames).
                "servers": fleet.servers,
                "actions": record.recent(),
                "rankings": overview.RANKINGS,
                "rank_limit": overview.RANK_LIMIT,
            },
        )
    except pages.BadRange as exc:
        return HttpResponseBadRequest(str(exc))
    return render(request, "dashboard/overview.html", {"fleet": fleet, "page": page})


@login_required
def server_detail(request: HttpRequest, server_id: int) -> HttpResponse:
    server = get_object_or_404(Server, pk=server_id)
    try:
        page = _page(
            request,
            {
                "ws": f"/ws/servers/{server.id}/",
                "actions": record.recent(server.id),
                "server": _server_state(server),
                "gpus": overview.series_labels(server, "gpu_memory_used_bytes"),
                "chart_models": trends.charted_models(server),
            },
        )
    except pages.BadRange as exc:
        return HttpResponseBadRequest(str(exc))
    context = {
        "server": server,
        "summary": overview.server_summary(server),
        "models": overview.server_models(server),
        "page": page,
        "ranges": pages.RANGES,
    }
    return render(request, "dashboard/server.html", context)


@login_required
def model_detail(request: HttpRequest, server_id: int, name: str) -> HttpResponse:
    server = get_object_or_404(Server, pk=server_id)
    try:
        _, window = pages.parse_range(request.GET.get("range"))
        detail = overview.model_detail(server, name, window)
    except pages.BadRange as exc:
        return HttpResponseBadRequest(str(exc))
    except overview.ModelNotFound as exc:
        raise Http404("no such model on this server") from exc
    page = _page(
        request,
        {
            # The model's socket: its values from every server that has it, live.
            "ws": f"/ws/servers/{server.id}/models/{quote(name, safe='')}/",
            "actions": record.recent(server.id, name),
            "fleet_servers": [s.id for s in overview.model_servers(name)],
            "server": _server_state(server),
            "model": name,
            "versions": detail.series_versions,
            "reasons": detail.failure_reasons,
            # Which backend, so that an empty memory chart can say Triton reports none for it.
            "backend": detail.config.backend if detail.config else "",
            "events": [
                {
                    "at": e.at.timestamp(),
                    "version": e.version,
                    "old": e.old_state,
                    "new": e.new_state,
                    "reason": e.reason,
                }
                for e in detail.events
            ],
        },
    )
    context = {
        "server": server,
        "detail": detail,
        "config": pages.config_summary(detail.config),
        "deployments": pages_deploy.of_model(server, name),
        "page": page,
        "ranges": pages.RANGES,
    }
    return render(request, "dashboard/model.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and compose: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        # The error text (host names, users) is for the logs, not for whoever asks.
        log.exception("healthz: the database does not answer")
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    """Every control action, newest first, filtered by server, model, user and state."""
    filters = {key: request.GET.get(key, "").strip() for key in ("server", "model", "user", "state")}
    rows = Action.objects.select_related("server", "requested_by")
    if filters["server"].isdigit():
        rows = rows.filter(server_id=int(filters["server"]))
    if filters["model"]:
        rows = rows.filter(model=filters["model"])
    if filters["user"]:
        rows = rows.filter(requested_by__username=filters["user"])
    if filters["state"]:
        rows = rows.filter(state=filters["state"])
    context = {
        "actions": rows[:500],
        "filters": filters,
        "servers": Server.objects.all(),
        "states": Action.State.choices,
    }
    return render(request, "dashboard/audit.html", context)


@login_required
@require_POST
def control(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """The buttons of _controls.html: the API's gate and service, then back to the page.

    A refusal by the gate answers its HTTP status; a refused request (a conflict, a
    confirmation needed) becomes a message on the page it came from.
    """
    try:
        server = check_control(request.user, pk, name)
    except errors.ActionError as exc:
        return HttpResponse(str(exc), status=status_of(exc)[0], content_type="text/plain; charset=utf-8")
    version = request.POST.get("version", "")
    try:
        action = request_action(
            server,
            name,
            request.POST.get("kind", ""),
            request.user,
            version=int(version) if version.isdigit() else None,
            confirm=request.POST.get("confirm") == "on",
        )
    except errors.ActionError as exc:
        messages.error(request, f"{name} on {server.name}: {exc}")
    else:
        messages.info(request, f"Action #{action.id} ({action.kind} {name}) queued.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("audit")
    return redirect(back)
