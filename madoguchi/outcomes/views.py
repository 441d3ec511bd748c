"""The public page of defect reports: only what staff published (the report, the photos they
chose, the outcome), never who reported it. Off with MADOGUCHI_REPORTS_PUBLIC_PAGE=false."""

from __future__ import annotations

import base64

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from madoguchi.reports import geo
from madoguchi.reports.models import Photo, Report
from madoguchi.reports.services import reports_submitted


def _published() -> QuerySet[Report]:
    if not settings.REPORTS_PUBLIC_PAGE:
        raise Http404
    return (
        reports_submitted()
        .filter(is_public=True)
        .exclude(status=Report.Status.MERGED)
        .select_related("category", "department")
        .order_by("-submitted_at")
    )


def outcomes(request: HttpRequest) -> HttpResponse:
    city = geo.city_bounds()
    return render(
        request,
        "outcomes/list.html",
        {
            "page": Paginator(_published(), 50).get_page(request.GET.get("page")),
            "city": settings.MADOGUCHI_CITY_NAME,
            "markers_url": reverse("outcomes:markers"),
            "bounds": f"{city.south},{city.west},{city.north},{city.east}",
            "tile_url": settings.MAP_TILE_URL,
            "attribution": settings.MAP_ATTRIBUTION,
        },
    )


def markers(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "markers": [
                {
                    "id": report.pk,
                    "number": report.number,
                    "lat": report.latitude,
                    "lng": report.longitude,
                    "status": report.status,
                    "status_label": str(report.get_status_display()),
                    "category": report.category.name,
                    "url": reverse("outcomes:report", kwargs={"number": report.number}),
                }
                for report in _published().exclude(latitude=None)[:2000]
            ]
        }
    )


def report(request: HttpRequest, number: str) -> HttpResponse:
    shown = get_object_or_404(_published(), number=number[:20])
    return render(
        request,
        "outcomes/report.html",
        {
            "report": shown,
            "photos": shown.photos.filter(is_public=True),
            "city": settings.MADOGUCHI_CITY_NAME,
        },
    )


def photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    """A photo staff published, of a report staff published; nothing else (and nothing when the
    public page is switched off: its photos are part of it)."""
    if not settings.REPORTS_PUBLIC_PAGE:
        raise Http404
    shown = get_object_or_404(Photo, pk=photo_id, is_public=True, report__is_public=True)
    response = HttpResponse(
        base64.b64decode(shown.thumbnail if request.GET.get("size") == "thumb" else shown.data),
        content_type="image/jpeg",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
