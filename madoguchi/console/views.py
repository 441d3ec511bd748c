"""The staff console. For now: the dashboard; each feature adds its own screens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from madoguchi.channels.line.models import InboundEvent
from madoguchi.core.models import Channel
from madoguchi.residents.models import Resident


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    week_ago = timezone.now() - timedelta(days=7)
    context = {
        "friends": Resident.objects.filter(status=Resident.Status.ACTIVE).count(),
        "blocked": Resident.objects.filter(status=Resident.Status.BLOCKED).count(),
        "new_this_week": Resident.objects.filter(followed_at__gte=week_ago).count(),
        "failed_events": InboundEvent.objects.filter(status=InboundEvent.Status.FAILED).count(),
        "waiting_events": InboundEvent.objects.filter(
            status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.RETRYING]
        ).count(),
        "channels": Channel.objects.filter(is_active=True).order_by("name"),
    }
    return render(request, "console/dashboard.html", context)
