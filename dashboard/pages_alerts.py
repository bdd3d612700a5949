"""The alerts page: firing, silenced and recent alerts, and the rules. Its seed is the
API's wire format (fleet.alerting.records); static/dashboard/alerts.js draws it and keeps
it live from the ws/alerts/ socket."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from fleet import roles
from fleet.alerting import records
from fleet.models import Alert, AlertRule

RECENT = 100


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = Alert.objects.select_related(*records.RELATED)
    open_rows = list(rows.filter(state__in=Alert.OPEN_STATES)[:500])
    recent = list(rows.filter(state=Alert.State.RESOLVED).order_by("-resolved_at")[:RECENT])
    page = {
        "alerts": [records.alert(a, now) for a in open_rows + recent],
        "rules": [records.rule(r) for r in AlertRule.objects.all()],
        "can_silence": roles.is_operator(request.user),
    }
    return render(request, "dashboard/alerts.html", {"page": page})
