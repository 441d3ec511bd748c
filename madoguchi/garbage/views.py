"""The public iCalendar feed of an area's collections: `/garbage/calendar/<slug>.ics`, where the
slug is an area's own or the code of a district it serves. No personal data; cacheable."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from madoguchi.garbage.attribution import credits_in_use
from madoguchi.garbage.ical import Event, calendar
from madoguchi.garbage.models import Category
from madoguchi.garbage.selectors import area_by_slug, area_collections


@require_GET
def area_ics(request: HttpRequest, slug: str) -> HttpResponse:
    area = area_by_slug(slug)
    if area is None:
        raise Http404("no such area")
    today = timezone.localdate()
    collections = area_collections(
        area, today - timedelta(days=31), today + timedelta(days=settings.GARBAGE_ICAL_DAYS)
    )
    categories = {c.name: c for c in Category.objects.all()}
    events = []
    for collection in collections:
        category = categories.get(collection.category)
        note = category.description if category else ""
        if collection.moved_from:
            note = f"{collection.moved_from:%m/%d} の分\n{note}".strip()
        events.append(
            Event(
                uid=f"{collection.day:%Y%m%d}-{category.pk if category else 0}-{area.slug}@garbage.madoguchi",
                day=collection.day,
                summary=collection.category,
                description=note,
            )
        )
    body = calendar(
        events,
        name=f"{settings.MADOGUCHI_CITY_NAME} ごみの日 {area.name}",
        description="\n".join(credits_in_use()),
        stamp=timezone.now(),
        prodid="-//Madoguchi//garbage//JA",
    )
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="garbage-{area.slug}.ics"'
    response["Cache-Control"] = "public, max-age=3600"
    return response
