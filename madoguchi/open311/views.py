"""GeoReport v2 endpoints: discovery, services, service definitions, requests (GET list with
filters, GET one, POST with an api_key), in XML and JSON, with the spec's error format.

What the API shows of a report: its category, status, dates, department and a place; the
resident's words, the address, the exact point, the photos and the outcome only once staff
published the report (an unpublished point is rounded to about 100 m). Nothing about who
reported it, ever.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from madoguchi.open311.formats import error, respond
from madoguchi.reports import geo
from madoguchi.reports.models import Category, Photo, Report
from madoguchi.reports.services import apikey_check, categories_active, report_submit_api, reports_submitted

SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _jurisdiction_refused(request: HttpRequest, fmt: str) -> HttpResponse | None:
    given = (request.POST if request.method == "POST" else request.GET).get("jurisdiction_id")
    if given is not None and given != settings.OPEN311_JURISDICTION:
        return error(fmt, 404, "jurisdiction_id not found")
    return None


def _iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    return respond(
        fmt,
        "discovery",
        {
            "changeset": "2026-01-01T00:00:00+09:00",
            "contact": settings.MADOGUCHI_CONTACT_TEXT,
            "key_service": "API keys are issued by the city (console: API キー).",
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": request.build_absolute_uri(reverse("open311:root")).rstrip("/"),
                    "changeset": "2026-01-01T00:00:00+09:00",
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or category.name_en,
        "metadata": False,
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.department.name if category.department else "",
    }


def services(request: HttpRequest, fmt: str) -> HttpResponse:
    if refused := _jurisdiction_refused(request, fmt):
        return refused
    listed = categories_active().filter(urgent_phone="").select_related("department")
    return respond(fmt, "services", [_service(category) for category in listed])


def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    if refused := _jurisdiction_refused(request, fmt):
        return refused
    category = categories_active().filter(code=code[:40], urgent_phone="").first()
    if category is None:
        return error(fmt, 404, "service_code not found")
    return respond(fmt, "service_definition", {"service_code": category.code, "attributes": []})


def _request_item(request: HttpRequest, report: Report) -> dict[str, Any]:
    public = report.is_public
    lat, lng = report.latitude, report.longitude
    if not public and lat is not None and lng is not None:
        lat, lng = round(lat, 3), round(lng, 3)
    status_notes = report.public_note if public else ""
    if report.status == Report.Status.MERGED and report.duplicate_of is not None:
        status_notes = f"duplicate of {report.duplicate_of.number}"
    # A published photo is served by the public page; switched off, the photos are not public
    # either, and the API points to none.
    photo = report.public_photos[0] if public and report.public_photos else None  # type: ignore[attr-defined]
    media_url = ""
    if photo is not None and settings.REPORTS_PUBLIC_PAGE:
        media_url = request.build_absolute_uri(reverse("outcomes:photo", kwargs={"photo_id": photo.pk}))
    return {
        "service_request_id": report.number,
        "status": "open" if report.is_open else "closed",
        "status_notes": status_notes,
        "service_name": report.category.name,
        "service_code": report.category.code,
        "description": report.description if public else "",
        "agency_responsible": report.department.name if report.department else "",
        "service_notice": "",
        "requested_datetime": _iso(report.submitted_at),
        "updated_datetime": _iso(report.updated_at),
        "expected_datetime": None,
        "address": report.address if public else "",
        "address_id": "",
        "zipcode": "",
        "lat": lat,
        "long": lng,
        "media_url": media_url,
    }


def _listed() -> QuerySet[Report]:
    public_photos = Prefetch(
        "photos",
        queryset=Photo.objects.filter(is_public=True).only("pk", "report_id"),
        to_attr="public_photos",
    )
    return (
        reports_submitted()
        .select_related("category", "department", "duplicate_of")
        .prefetch_related(public_photos)
    )


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value.strip().replace(" ", "+"))
    if parsed is None:
        raise ValueError(value)
    return (
        parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_current_timezone())
    )


@csrf_exempt
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post(request, fmt)
    if request.method != "GET":
        return error(fmt, 405, "method not allowed")
    if refused := _jurisdiction_refused(request, fmt):
        return refused
    params = request.GET
    reports = _listed()
    ids = [part.strip() for part in params.get("service_request_id", "").split(",") if part.strip()][:100]
    if ids:  # overrides every other filter (the spec)
        return respond(
            fmt, "service_requests", [_request_item(request, r) for r in reports.filter(number__in=ids)]
        )
    codes = [part.strip() for part in params.get("service_code", "").split(",") if part.strip()]
    if codes:
        reports = reports.filter(category__code__in=codes)
    try:
        start, end = _when(params.get("start_date")), _when(params.get("end_date"))
    except ValueError:
        return error(fmt, 400, "start_date and end_date must be W3C datetimes, e.g. 2026-01-01T00:00:00Z")
    if start and end and end - start > DEFAULT_WINDOW:
        return error(fmt, 400, "start_date and end_date may not span more than 90 days")
    if start is None:
        start = (end or timezone.now()) - DEFAULT_WINDOW
    reports = reports.filter(submitted_at__gte=start)
    if end is not None:
        reports = reports.filter(submitted_at__lte=end)
    statuses = {part.strip() for part in params.get("status", "").split(",") if part.strip()}
    if statuses - {"open", "closed"}:
        return error(fmt, 400, "status must be open or closed")
    if statuses == {"open"}:
        reports = reports.filter(status__in=Report.OPEN_STATUSES)
    elif statuses == {"closed"}:
        reports = reports.exclude(status__in=Report.OPEN_STATUSES)
    reports = reports.order_by("-submitted_at")[:MAX_RESULTS]
    return respond(fmt, "service_requests", [_request_item(request, report) for report in reports])


def request_one(request: HttpRequest, request_id: str, fmt: str) -> HttpResponse:
    if refused := _jurisdiction_refused(request, fmt):
        return refused
    report = _listed().filter(number=request_id[:20]).first()
    if report is None:
        return error(fmt, 404, "service_request_id not found")
    return respond(fmt, "service_requests", [_request_item(request, report)])


def _post(request: HttpRequest, fmt: str) -> HttpResponse:
    if refused := _jurisdiction_refused(request, fmt):
        return refused
    data = request.POST
    key = apikey_check(data.get("api_key", ""))
    if key is None:
        return error(fmt, 403, "api_key is missing or not valid")
    category = categories_active().filter(code=data.get("service_code", "")[:40]).first()
    if category is None:
        return error(fmt, 400, "service_code is missing or not valid")
    if category.urgent_phone:
        return error(fmt, 400, f"this service is not taken online: call {category.urgent_phone}")
    lat = lng = None
    if data.get("lat") or data.get("long"):
        try:
            lat, lng = float(data.get("lat", "")), float(data.get("long", ""))
        except ValueError:
            return error(fmt, 400, "lat and long must be numbers")
        if not geo.city_bounds().contains(lat, lng):
            return error(fmt, 400, "lat/long is outside the jurisdiction")
    address = CONTROL.sub("", data.get("address_string", "")).strip()
    if lat is None and not address and not data.get("address_id"):
        return error(fmt, 400, "a location is required: lat and long, address_string or address_id")
    if len(address) > 200:
        return error(fmt, 400, "address_string is longer than 200 characters")
    description = CONTROL.sub("", data.get("description", "")).strip()
    if len(description) > settings.REPORTS_DESCRIPTION_MAX:
        return error(fmt, 400, f"description is longer than {settings.REPORTS_DESCRIPTION_MAX} characters")
    media_url = data.get("media_url", "").strip()
    if media_url and (not re.match(r"^https?://", media_url) or len(media_url) > 500):
        return error(fmt, 400, "media_url must be an http(s) URL of at most 500 characters")
    contact = " ".join(
        CONTROL.sub("", data.get(field, "")).strip()[:100]
        for field in ("first_name", "last_name", "email", "phone")
        if data.get(field)
    )
    report = report_submit_api(
        api_key=key,
        category=category,
        lat=lat,
        lng=lng,
        address=address or data.get("address_id", "")[:200],
        description=description,
        contact=contact,
        media_url=media_url,
    )
    return respond(
        fmt,
        "service_requests",
        [{"service_request_id": report.number, "service_notice": "", "account_id": None}],
        status=201,
    )
