"""Dashboard pages: short views, presentation only."""

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fleet.models import Server


@login_required
def index(request: HttpRequest) -> HttpResponse:
    servers = Server.objects.prefetch_related("models")
    return render(request, "dashboard/index.html", {"servers": servers})


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and compose: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return HttpResponse(f"database: {exc}", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
