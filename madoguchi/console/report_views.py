"""Defect reports for the departments: list, map, one report (photos, timeline, status, notes,
routing, duplicates, publishing), export; and the Open311 API keys for administrators."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from madoguchi.accounts.access import has_permission
from madoguchi.accounts.models import Department
from madoguchi.accounts.roles import Perm
from madoguchi.console.access import client_ip, staff_view
from madoguchi.core.audit import audit_record
from madoguchi.reports import geo
from madoguchi.reports.models import ApiKey, Area, Category, Photo, Report
from madoguchi.reports.selectors import (
    ReportFilter,
    report_for_view,
    report_list,
    reports_export,
    reports_for_map,
    reports_visible,
)
from madoguchi.reports.services import (
    STAFF_STATUSES,
    ReportError,
    apikey_create,
    apikey_revoke,
    duplicate_candidates,
    note_add,
    report_change_status,
    report_merge,
    report_publish,
    report_route,
)


class FilterForm(forms.Form):
    category = forms.ModelChoiceField(Category.objects.all(), required=False, label="カテゴリ")
    status = forms.CharField(required=False, max_length=20)
    area = forms.ModelChoiceField(Area.objects.all(), required=False)
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)


def _filters(request: HttpRequest) -> ReportFilter:
    form = FilterForm(request.GET)
    if not form.is_valid():
        # A filter that does not parse is dropped, the rest apply.
        data = {key: value for key, value in form.cleaned_data.items() if key not in form.errors}
    else:
        data = form.cleaned_data
    category, area = data.get("category"), data.get("area")
    return ReportFilter(
        category=category.pk if category else None,
        status=(data.get("status") or "")[:20],
        area=area.pk if area else None,
        since=data.get("since"),
        until=data.get("until"),
    )


def _filter_context(request: HttpRequest, filters: ReportFilter) -> dict[str, Any]:
    return {
        "filters": filters,
        "categories": Category.objects.all(),
        "areas": Area.objects.all(),
        "statuses": [
            (value, label) for value, label in Report.Status.choices if value != Report.Status.DRAFT
        ],
        "query": request.GET.urlencode(),
    }


def _report(request: HttpRequest, report_id: int) -> Report:
    try:
        return report_for_view(request.user, report_id, ip_address=client_ip(request))
    except Report.DoesNotExist:
        raise Http404 from None


@staff_view(Perm.REPORTS_HANDLE)
def reports(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    listed = report_list(request.user, filters, ip_address=client_ip(request))
    page = Paginator(listed, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "console/reports.html",
        {
            **_filter_context(request, filters),
            "page": page,
            "can_export": has_permission(request.user, Perm.REPORTS_EXPORT),
        },
    )


@staff_view(Perm.REPORTS_HANDLE)
def report_map(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    city = geo.city_bounds()
    return render(
        request,
        "console/report_map.html",
        {
            **_filter_context(request, filters),
            "markers_url": f"{reverse('console:report_markers')}?{request.GET.urlencode()}",
            "bounds": f"{city.south},{city.west},{city.north},{city.east}",
            "tile_url": settings.MAP_TILE_URL,
            "attribution": settings.MAP_ATTRIBUTION,
        },
    )


@staff_view(Perm.REPORTS_HANDLE)
def report_markers(request: HttpRequest) -> JsonResponse:
    markers = reports_for_map(request.user, _filters(request), ip_address=client_ip(request))
    for marker in markers:
        marker["url"] = reverse("console:report", kwargs={"report_id": marker["id"]})
    return JsonResponse({"markers": markers})


@staff_view(Perm.REPORTS_HANDLE)
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    visible = reports_visible(request.user)
    return render(
        request,
        "console/report_detail.html",
        {
            "report": report,
            "photos": report.photos.all(),
            "timeline": report.updates.select_related("author").order_by("-created_at", "-id"),
            "statuses": [(value, label) for value, label in Report.Status.choices if value in STAFF_STATUSES],
            "departments": Department.objects.order_by("name"),
            "duplicates": duplicate_candidates(report).filter(pk__in=visible.values("pk")),
            "merged": visible.filter(duplicate_of=report),
            "followers": report.followers.count(),
            "can_publish": has_permission(request.user, Perm.REPORTS_PUBLISH),
            "can_see_resident": has_permission(request.user, Perm.RESIDENTS_VIEW),
            "duplicate_metres": settings.REPORTS_DUPLICATE_METERS,
            "duplicate_days": settings.REPORTS_DUPLICATE_DAYS,
        },
    )


@require_POST
@staff_view(Perm.REPORTS_HANDLE)
def report_action(request: HttpRequest, report_id: int, action: str) -> HttpResponse:
    report = _report(request, report_id)
    staff = request.user
    back = redirect("console:report", report_id=report.pk)
    try:
        if action == "status":
            report_change_status(
                report,
                actor=staff,
                status=request.POST.get("status", ""),
                message=request.POST.get("message", "")[:1000],
                reason=request.POST.get("reason", "")[:500],
            )
            messages.success(request, _("状態を変更しました。住民に LINE でお知らせします。"))
        elif action == "note":
            text = request.POST.get("text", "").strip()
            if not text:
                raise ReportError(_("メモを入力してください。"))
            note_add(report, author=staff, text=text)
        elif action == "route":
            department = None
            if request.POST.get("department"):
                department = get_object_or_404(Department, pk=request.POST["department"])
            report_route(report, actor=staff, department=department)
            messages.success(request, _("担当課を変更しました。"))
        elif action == "merge":
            other = get_object_or_404(reports_visible(staff), pk=request.POST.get("other") or 0)
            first, second = sorted((report, other), key=lambda r: (r.submitted_at or timezone.now(), r.pk))
            report_merge(second, into=first, actor=staff)
            messages.success(
                request,
                _("%(second)s を %(first)s に統合しました。")
                % {"second": second.number, "first": first.number},
            )
            return redirect("console:report", report_id=first.pk)
        elif action == "publish":
            if not has_permission(staff, Perm.REPORTS_PUBLISH):
                audit_record(
                    action="console.access.denied",
                    actor=staff,
                    ip_address=client_ip(request),
                    data={"path": request.path[:200], "permission": Perm.REPORTS_PUBLISH},
                )
                return render(request, "console/denied.html", status=403)
            photo_ids = [int(pk) for pk in request.POST.getlist("photos") if pk.isdigit()]
            report_publish(
                report,
                actor=staff,
                public=request.POST.get("public") == "1",
                note=request.POST.get("note", ""),
                photo_ids=photo_ids,
            )
            messages.success(request, _("公開の設定を保存しました。"))
        else:
            raise Http404
    except ReportError as problem:
        messages.error(request, str(problem))
    return back


@staff_view(Perm.REPORTS_HANDLE)
def report_photo(request: HttpRequest, report_id: int, photo_id: int) -> HttpResponse:
    """A report's photo (or its thumbnail), for staff only; every view is logged."""
    report = _report(request, report_id)
    photo = get_object_or_404(Photo, pk=photo_id, report=report)
    thumb = request.GET.get("size") == "thumb"
    response = HttpResponse(
        base64.b64decode(photo.thumbnail if thumb else photo.data), content_type="image/jpeg"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="report-{report.pk}-{photo.pk}.jpg"'
    return response


EXPORT_COLUMNS = [
    ("受付番号", lambda r: r.number),
    (
        "受付日時",
        lambda r: timezone.localtime(r.submitted_at).strftime("%Y-%m-%d %H:%M") if r.submitted_at else "",
    ),
    ("カテゴリ", lambda r: r.category.name),
    ("状態", lambda r: str(r.get_status_display())),
    ("理由", lambda r: r.status_reason),
    ("担当課", lambda r: r.department.name if r.department else ""),
    ("地区", lambda r: r.area.name if r.area else ""),
    ("緯度", lambda r: r.latitude if r.latitude is not None else ""),
    ("経度", lambda r: r.longitude if r.longitude is not None else ""),
    ("住所・目印", lambda r: r.address),
    ("内容", lambda r: r.description),
    ("写真", lambda r: r.photo_count),
    ("統合先", lambda r: r.duplicate_of.number if r.duplicate_of else ""),
    ("受付経路", lambda r: r.source),
    ("完了日時", lambda r: timezone.localtime(r.closed_at).strftime("%Y-%m-%d %H:%M") if r.closed_at else ""),
]


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@staff_view(Perm.REPORTS_EXPORT)
def report_export(request: HttpRequest, fmt: str) -> HttpResponse:
    rows = (
        reports_export(
            request.user,
            _filters(request),
            reason=request.GET.get("reason", "")[:500],
            ip_address=client_ip(request),
        )
        .select_related("duplicate_of")
        .annotate(photo_count=Count("photos"))
    )
    header = [name for name, _value in EXPORT_COLUMNS]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for report in rows.iterator(chunk_size=500):
            writer.writerow([_cell(value(report)) for _name, value in EXPORT_COLUMNS])
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="reports-{stamp}.csv"'
        return response
    book = Workbook()
    sheet = book.active
    sheet.title = "通報"
    sheet.append(header)
    for report in rows.iterator(chunk_size=500):
        sheet.append([_cell(value(report)) for _name, value in EXPORT_COLUMNS])
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    response = HttpResponse(
        out_bytes.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="reports-{stamp}.xlsx"'
    return response


@staff_view(Perm.REPORTS_API_KEYS)
def api_keys(request: HttpRequest) -> HttpResponse:
    new_key = ""
    if request.method == "POST":
        if request.POST.get("revoke"):
            apikey_revoke(get_object_or_404(ApiKey, pk=request.POST["revoke"]), actor=request.user)
            messages.success(request, _("API キーを無効にしました。"))
            return redirect("console:api_keys")
        name = request.POST.get("name", "").strip()[:100]
        if not name:
            messages.error(request, _("名前を入力してください (どこで使うキーか)。"))
        else:
            _key, new_key = apikey_create(name=name, actor=request.user)
    return render(request, "console/api_keys.html", {"keys": ApiKey.objects.all(), "new_key": new_key})
