"""Reads of reports for staff. Each checks the reader's permission and scopes to their
department; lists, views and exports are logged (reports hold what residents wrote and where)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from madoguchi.accounts.access import has_permission, scope_to_department
from madoguchi.accounts.roles import Perm
from madoguchi.core.audit import audit_record
from madoguchi.reports.models import Report

User = AbstractBaseUser | AnonymousUser
MAP_LIMIT = 2000


@dataclass(frozen=True)
class ReportFilter:
    category: int | None = None
    status: str = ""  # "" = the open ones; "all"; or one status
    area: int | None = None
    since: date | None = None
    until: date | None = None

    def for_log(self) -> dict[str, Any]:
        return {key: str(value) for key, value in asdict(self).items() if value not in (None, "")}


def reports_visible(user: User, permission: str = Perm.REPORTS_HANDLE) -> QuerySet[Report]:
    if not has_permission(user, permission):
        raise PermissionDenied
    reports = Report.objects.exclude(status=Report.Status.DRAFT).select_related(
        "category", "department", "area", "resident"
    )
    return scope_to_department(reports, user)


def _filtered(reports: QuerySet[Report], filters: ReportFilter) -> QuerySet[Report]:
    if filters.category:
        reports = reports.filter(category_id=filters.category)
    if filters.status == "all":
        pass
    elif filters.status in Report.Status.values:
        reports = reports.filter(status=filters.status)
    else:
        reports = reports.filter(status__in=Report.OPEN_STATUSES)
    if filters.area:
        reports = reports.filter(area_id=filters.area)
    zone = timezone.get_current_timezone()
    if filters.since:
        reports = reports.filter(submitted_at__gte=datetime.combine(filters.since, time.min, zone))
    if filters.until:
        reports = reports.filter(
            submitted_at__lt=datetime.combine(filters.until + timedelta(days=1), time.min, zone)
        )
    return reports


def report_list(
    user: User, filters: ReportFilter, *, ip_address: str | None = None, log: bool = True
) -> QuerySet[Report]:
    reports = _filtered(reports_visible(user), filters)
    if log:
        audit_record(
            action="reports.report.listed",
            actor=user,
            object_type="reports.Report",
            ip_address=ip_address,
            data=filters.for_log(),
        )
    return reports.order_by("-submitted_at", "-id")


def reports_for_map(
    user: User, filters: ReportFilter, *, ip_address: str | None = None
) -> list[dict[str, Any]]:
    """Markers: reports with a place, newest first, bounded (plain values: no model per row)."""
    rows = (
        report_list(user, filters, ip_address=ip_address)
        .exclude(latitude=None)
        .values("pk", "number", "latitude", "longitude", "status", "category__name")[:MAP_LIMIT]
    )
    labels = dict(Report.Status.choices)
    return [
        {
            "id": row["pk"],
            "number": row["number"],
            "lat": row["latitude"],
            "lng": row["longitude"],
            "status": row["status"],
            "status_label": str(labels.get(row["status"], row["status"])),
            "category": row["category__name"],
        }
        for row in rows
    ]


def report_for_view(user: User, report_id: int, *, ip_address: str | None = None) -> Report:
    report = reports_visible(user).get(pk=report_id)
    audit_record(action="reports.report.viewed", actor=user, obj=report, ip_address=ip_address)
    return report


def reports_export(
    user: User, filters: ReportFilter, *, reason: str = "", ip_address: str | None = None
) -> QuerySet[Report]:
    reports = _filtered(reports_visible(user, Perm.REPORTS_EXPORT), filters)
    audit_record(
        action="reports.report.exported",
        actor=user,
        object_type="reports.Report",
        ip_address=ip_address,
        reason=reason,
        data=filters.for_log(),
    )
    return reports.order_by("submitted_at", "id")
