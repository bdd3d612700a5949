"""Dashboard pages: short views, presentation only."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fleet.models import Server


@login_required
def index(request: HttpRequest) -> HttpResponse:
    servers = Server.objects.prefetch_related("models")
    return render(request, "dashboard/index.html", {"servers": servers})
