"""The sorting guide and the collection calendar as a LIFF page: public (it holds no personal
data), so it opens without signing in; a resident who signed in on another LIFF page sees their
own district's calendar first."""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from madoguchi.garbage.attribution import credits_in_use
from madoguchi.garbage.models import Area
from madoguchi.garbage.search import MAX_QUERY, items_search
from madoguchi.garbage.selectors import area_by_slug, area_collections, area_for_resident
from madoguchi.liff.pages import liff_channel, page_language, render_page
from madoguchi.liff.session import session_visitor

CALENDAR_DAYS = 14
RESULTS = 30


@require_GET
def garbage(request: HttpRequest) -> HttpResponse:
    visitor = session_visitor(request)
    resident = visitor.resident if visitor else None
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    results = items_search(query, limit=RESULTS) if query else []
    area = area_by_slug(request.GET.get("area", "")[:50])
    if area is None and resident is not None:
        area = area_for_resident(resident)
    days: list[dict[str, object]] = []
    if area is not None:
        today = timezone.localdate()
        by_day: dict[date, list[str]] = {}
        for collection in area_collections(area, today, today + timedelta(days=CALENDAR_DAYS - 1)):
            by_day.setdefault(collection.day, []).append(collection.category)
        days = [{"day": day, "categories": names} for day, names in sorted(by_day.items())]
    return render_page(
        request,
        "liff/garbage.html",
        {
            "query": query,
            "results": results,
            "searched": bool(query),
            "area": area,
            "areas": Area.objects.only("name", "slug"),
            "days": days,
            "ics_url": request.build_absolute_uri(reverse("garbage:ics", args=[area.slug])) if area else "",
            "credits": credits_in_use(),
            "own_district": resident.district if resident else None,
        },
        language=page_language(request, resident),
        channel=visitor.channel if visitor else liff_channel(request.GET.get("channel", "")),
    )
