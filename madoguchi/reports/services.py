"""Everything that changes a report. Writes are atomic and audited; residents are told of status
changes by the worker (`tasks.deliver_update`), never in the middle of a staff member's request."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from madoguchi.accounts.models import Department
from madoguchi.channels.base import ChannelError, Text, transport_for
from madoguchi.chatbot.flows import FLOW_IDLE_LIMIT
from madoguchi.core.audit import audit_record
from madoguchi.reports import geo
from madoguchi.reports.messages import update_text
from madoguchi.reports.models import ApiKey, Area, Category, Follower, Photo, Report, Route, Update
from madoguchi.reports.photos import CleanPhoto, PhotoRefused, photo_clean
from madoguchi.residents.models import Resident

logger = logging.getLogger(__name__)

Staff = Any  # request.user as the console passes it
MAX_PHOTOS = 3
# The statuses staff move a report between; 対応不可 needs a reason the resident is told.
STAFF_STATUSES = (
    Report.Status.RECEIVED,
    Report.Status.IN_PROGRESS,
    Report.Status.DONE,
    Report.Status.REJECTED,
)
CLOSED_STATUSES = (Report.Status.DONE, Report.Status.REJECTED, Report.Status.MERGED)


class ReportError(ValueError):
    """A change that cannot be made; the message says why (staff or resident)."""


# The resident's draft


def draft_start(resident: Resident, category: Category) -> Report:
    """A new draft for the resident (an earlier unfinished one is dropped)."""
    with transaction.atomic():
        Report.objects.filter(resident=resident, status=Report.Status.DRAFT).delete()
        return Report.objects.create(
            channel_id=resident.channel_id, resident=resident, category=category, source=Report.Source.LINE
        )


def photo_add(report: Report, *, line_message_id: str) -> Photo:
    """Fetch the photo from LINE now (LINE deletes it after a while), clean it and keep it.

    Raises PhotoRefused (a message for the resident) when it is not a photo we keep. Sending the
    same LINE message again (a redelivered event) returns the photo already kept.
    """
    existing = Photo.objects.filter(report=report, line_message_id=line_message_id).first()
    if existing is not None:
        return existing
    if report.photos.count() >= MAX_PHOTOS:
        raise PhotoRefused(_("写真は %(max)d 枚までです。") % {"max": MAX_PHOTOS})
    channel = report.channel or report.resident.channel  # type: ignore[union-attr]
    try:
        data = transport_for(channel).get_content(channel, message_id=line_message_id)
    except ChannelError as exc:
        if exc.permanent:
            raise PhotoRefused(_("写真を受け取れませんでした。もう一度送ってください。")) from None
        raise  # transient: the event is processed again, and the photo fetched then
    if data is None:
        raise PhotoRefused(
            _("写真を受け取れませんでした (%(mb)s MB までの写真を送ってください)。")
            % {"mb": settings.REPORTS_PHOTO_MAX_BYTES // 1_000_000}
        )
    return photo_keep(report, photo_clean(data), line_message_id=line_message_id)


def photo_keep(report: Report, clean: CleanPhoto, *, line_message_id: str = "") -> Photo:
    try:
        with transaction.atomic():
            photo = Photo.objects.create(
                report=report,
                line_message_id=line_message_id[:40],
                content_type=clean.content_type,
                width=clean.width,
                height=clean.height,
                size=len(clean.data),
                data=base64.b64encode(clean.data).decode(),
                thumbnail=base64.b64encode(clean.thumbnail).decode(),
            )
    except IntegrityError:  # the same message, processed twice at once
        return Photo.objects.get(report=report, line_message_id=line_message_id)
    if clean.gps is not None and not report.has_point and geo.city_bounds().contains(*clean.gps):
        # The camera's position, read before the metadata went: the place when none was sent.
        Report.objects.filter(pk=report.pk, latitude=None).update(
            latitude=clean.gps[0], longitude=clean.gps[1], place=Report.Place.PHOTO
        )
    return photo


def draft_set_point(report: Report, *, lat: float, lng: float, address: str = "") -> None:
    """The place the resident chose on LINE's map. Raises ReportError outside the city."""
    if not geo.city_bounds().contains(lat, lng):
        raise ReportError(
            _("%(city)sの外の場所のようです。市内の場所を送ってください。")
            % {"city": settings.MADOGUCHI_CITY_NAME}
        )
    Report.objects.filter(pk=report.pk).update(
        latitude=lat, longitude=lng, address=address[:200], place=Report.Place.MAP
    )


def draft_set_address(report: Report, *, address: str) -> None:
    """An address or a landmark typed by a resident who cannot use the map."""
    updates: dict[str, Any] = {"address": address[:200]}
    if report.place != Report.Place.PHOTO:
        updates.update(latitude=None, longitude=None, place=Report.Place.TYPED)
    Report.objects.filter(pk=report.pk).update(**updates)


def draft_set_description(report: Report, *, text: str) -> None:
    Report.objects.filter(pk=report.pk).update(description=text)


def report_submit(report: Report) -> Report:
    """The resident confirmed: the draft becomes a report with a receipt number, routed to the
    department that handles its category in its area, followed by its reporter."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status != Report.Status.DRAFT:
            return report  # confirmed twice (a double tap, a redelivered event)
        _receive(report)
        audit_record(
            action="reports.report.submitted",
            obj=report,
            data={"category": report.category.code, "photos": report.photos.count(), "source": report.source},
        )
    return report


def _receive(report: Report) -> None:
    now = timezone.now()
    report.submitted_at = now
    report.status = Report.Status.RECEIVED
    if report.has_point:
        report.area = next(
            (area for area in Area.objects.all() if area.contains(report.latitude, report.longitude)),  # type: ignore[arg-type]
            None,
        )
    report.department = route_for(report.category, report.area)
    report.save()
    report.number = f"{timezone.localtime(now).year}-{report.pk:05d}"
    report.save(update_fields=["number"])
    Update.objects.create(report=report, kind=Update.Kind.STATUS, status=Report.Status.RECEIVED)
    if report.resident_id:
        Follower.objects.get_or_create(report=report, resident_id=report.resident_id)


def route_for(category: Category, area: Area | None) -> Department | None:
    """The department for a category in an area: the area's own rule, else the category's."""
    if area is not None:
        route = Route.objects.filter(category=category, area=area).select_related("department").first()
        if route is not None:
            return route.department
    return category.department


def report_submit_api(
    *,
    api_key: ApiKey,
    category: Category,
    lat: float | None,
    lng: float | None,
    address: str,
    description: str,
    contact: str = "",
    media_url: str = "",
) -> Report:
    """A report posted through Open311 by a key holder. The media link is kept as text, never
    fetched (the city does not fetch what strangers point at)."""
    with transaction.atomic():
        report = Report.objects.create(
            source=Report.Source.OPEN311,
            category=category,
            api_key=api_key,
            latitude=lat,
            longitude=lng,
            place=Report.Place.MAP if lat is not None else Report.Place.TYPED,
            address=address[:200],
            description=description,
            reporter_contact=contact[:500],
            media_url=media_url[:500],
        )
        _receive(report)
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
        audit_record(
            action="reports.report.submitted",
            obj=report,
            data={"category": category.code, "source": report.source, "api_key": api_key.pk},
        )
    return report


# Staff


def report_change_status(
    report: Report, *, actor: Staff, status: str, message: str = "", reason: str = ""
) -> Update:
    """Move a report to another status; the reporter and its followers are told in LINE.

    `message` is added to the notice; `reason` is required for 対応不可 (and told too).
    """
    if status not in STAFF_STATUSES:
        raise ReportError(_("この状態には変更できません。"))
    reason = reason.strip()
    if status == Report.Status.REJECTED and not reason:
        raise ReportError(_("対応不可にするときは理由を入力してください。"))
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status in (Report.Status.DRAFT, Report.Status.MERGED):
            raise ReportError(_("この通報の状態は変更できません。"))
        if report.status == status:
            raise ReportError(_("すでにその状態です。"))
        previous = report.status
        report.status = status
        report.status_reason = reason[:500] if status == Report.Status.REJECTED else ""
        report.closed_at = timezone.now() if status in CLOSED_STATUSES else None
        report.save(update_fields=["status", "status_reason", "closed_at", "updated_at"])
        update = Update.objects.create(
            report=report,
            kind=Update.Kind.STATUS,
            status=status,
            text=message.strip()[:1000],
            author=actor,
            delivery=Update.Delivery.PENDING,
        )
        audit_record(
            action="reports.report.status_changed",
            actor=actor,
            obj=report,
            data={"from": previous, "to": status, "update": update.pk},
        )
        _deliver_on_commit(update)
    return update


def _deliver_on_commit(update: Update) -> None:
    from madoguchi.reports.tasks import deliver_update

    deliver_update.enqueue(update.pk)


def note_add(report: Report, *, author: Staff, text: str) -> Update:
    """An internal note: staff see it, residents never do."""
    with transaction.atomic():
        update = Update.objects.create(report=report, kind=Update.Kind.NOTE, text=text[:5000], author=author)
        audit_record(action="reports.note.added", actor=author, obj=report, data={"update": update.pk})
    return update


def report_route(report: Report, *, actor: Staff, department: Department | None) -> None:
    """Hand the report to another department (the timeline says who moved it where)."""
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(department=department)
        report.department = department
        Update.objects.create(
            report=report, kind=Update.Kind.ROUTED, text=department.name if department else "", author=actor
        )
        audit_record(
            action="reports.report.routed",
            actor=actor,
            obj=report,
            data={"department": getattr(department, "pk", None)},
        )


def report_merge(duplicate: Report, *, into: Report, actor: Staff) -> None:
    """The same defect reported twice: the second report closes as a duplicate, and its
    reporter follows the first from now on (they are told so in LINE)."""
    if duplicate.pk == into.pk:
        raise ReportError(_("同じ通報どうしは統合できません。"))
    with transaction.atomic():
        duplicate = Report.objects.select_for_update().get(pk=duplicate.pk)
        into = Report.objects.select_for_update().get(pk=into.pk)
        if duplicate.status in (Report.Status.DRAFT, Report.Status.MERGED) or into.status in (
            Report.Status.DRAFT,
            Report.Status.MERGED,
        ):
            raise ReportError(_("この通報は統合できません。"))
        duplicate.status = Report.Status.MERGED
        duplicate.duplicate_of = into
        duplicate.closed_at = timezone.now()
        duplicate.save(update_fields=["status", "duplicate_of", "closed_at", "updated_at"])
        for resident_id in duplicate.followers.values_list("resident_id", flat=True):
            Follower.objects.get_or_create(report=into, resident_id=resident_id)
        Update.objects.create(report=into, kind=Update.Kind.MERGED, text=duplicate.number or "", author=actor)
        notice = Update.objects.create(
            report=duplicate,
            kind=Update.Kind.MERGED,
            status=Report.Status.MERGED,
            text=into.number or "",
            author=actor,
            delivery=Update.Delivery.PENDING,
        )
        audit_record(action="reports.report.merged", actor=actor, obj=duplicate, data={"into": into.pk})
        _deliver_on_commit(notice)


def report_publish(
    report: Report, *, actor: Staff, public: bool, note: str = "", photo_ids: list[int] | None = None
) -> None:
    """Show (or hide) the report and its outcome on the public page and in the Open311 API, with
    the photos staff chose (only those)."""
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(is_public=public, public_note=note.strip()[:500])
        chosen = set(photo_ids or []) if public else set()
        report.photos.update(is_public=False)
        report.photos.filter(pk__in=chosen).update(is_public=True)
        audit_record(
            action="reports.report.published" if public else "reports.report.unpublished",
            actor=actor,
            obj=report,
            data={"photos": sorted(chosen)},
        )


def duplicate_candidates(report: Report) -> QuerySet[Report]:
    """Reports of the same category within MADOGUCHI_REPORTS_DUPLICATE_METERS and
    MADOGUCHI_REPORTS_DUPLICATE_DAYS of this one, nearest first in time: likely the same defect."""
    if not report.has_point or report.submitted_at is None:
        return Report.objects.none()
    metres = settings.REPORTS_DUPLICATE_METERS
    south, west, north, east = geo.box_around(report.latitude, report.longitude, metres)  # type: ignore[arg-type]
    window = timedelta(days=settings.REPORTS_DUPLICATE_DAYS)
    near = (
        Report.objects.filter(
            category=report.category_id,
            latitude__range=(south, north),
            longitude__range=(west, east),
            submitted_at__range=(report.submitted_at - window, report.submitted_at + window),
        )
        .exclude(pk=report.pk)
        .exclude(status__in=(Report.Status.DRAFT, Report.Status.MERGED))
    )
    ids = [
        other.pk
        for other in near.only("pk", "latitude", "longitude")[:200]
        if geo.distance_m(report.latitude, report.longitude, other.latitude, other.longitude) <= metres  # type: ignore[arg-type]
    ]
    return Report.objects.filter(pk__in=ids).select_related("category").order_by("submitted_at")


# Telling residents


def update_deliver(update_id: int) -> None:
    """Worker: tell every follower of the report about a status change or a merge, in their
    language. A retry re-uses each follower's dedupe key, so nobody is told twice."""
    update = Update.objects.select_related("report__category").get(pk=update_id)
    if update.delivery != Update.Delivery.PENDING:
        return
    report = update.report
    followers = Resident.objects.filter(
        followed_reports__report=report, status=Resident.Status.ACTIVE, anonymised_at=None
    ).select_related("channel")
    failed = 0
    for resident in followers:
        with override(resident.reply_language):
            text = update_text(update)
        try:
            transport_for(resident.channel).push(
                resident.channel,
                user_id=resident.line_user_id,
                messages=[Text(text)],
                dedupe_key=f"reports:update:{update.pk}:{resident.pk}",
            )
        except ChannelError as exc:
            logger.warning("report update %s not delivered to a follower: %s", update.pk, type(exc).__name__)
            failed += 1
    state = Update.Delivery.FAILED if failed else Update.Delivery.SENT
    Update.objects.filter(pk=update.pk).update(delivery=state)


# Housekeeping


def drafts_purge() -> int:
    """Periodic: drafts a resident walked away from (the flow forgot them) go, with their photos."""
    cutoff = timezone.now() - FLOW_IDLE_LIMIT
    _total, per_model = Report.objects.filter(status=Report.Status.DRAFT, created_at__lt=cutoff).delete()
    return per_model.get("reports.Report", 0)


def photos_purge_before(cutoff: datetime) -> int:
    """Retention: photos of reports closed before `cutoff` go, except those staff published."""
    _total, per_model = Photo.objects.filter(
        report__closed_at__lt=cutoff, report__status__in=CLOSED_STATUSES, is_public=False
    ).delete()
    return per_model.get("reports.Photo", 0)


def reports_erase(channel_id: int, line_user_id: str, pseudonym: str) -> int:
    """Erasure (residents.services.ERASURE_HOOKS): the resident's words and unpublished photos
    go and they follow nothing; that a defect was reported, where, and what was done, stays."""
    reports = Report.objects.filter(channel_id=channel_id, resident__line_user_id=line_user_id)
    Photo.objects.filter(report__in=reports, is_public=False).delete()
    Follower.objects.filter(resident__channel_id=channel_id, resident__line_user_id=line_user_id).delete()
    reports.filter(status=Report.Status.DRAFT).delete()
    return Report.objects.filter(pk__in=reports).update(description="", address="")


# Open311 API keys


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def apikey_create(*, name: str, actor: Staff) -> tuple[ApiKey, str]:
    """A new key; the raw key is returned once and never kept."""
    raw = "mdg_" + secrets.token_urlsafe(24)
    with transaction.atomic():
        key = ApiKey.objects.create(name=name[:100], prefix=raw[:8], key_hash=_hash(raw), created_by=actor)
        audit_record(action="reports.api_key.created", actor=actor, obj=key)
    return key, raw


def apikey_revoke(key: ApiKey, *, actor: Staff) -> None:
    with transaction.atomic():
        ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now())
        audit_record(action="reports.api_key.revoked", actor=actor, obj=key)


def apikey_check(raw: str) -> ApiKey | None:
    if not raw or len(raw) > 200:
        return None
    return ApiKey.objects.filter(key_hash=_hash(raw), revoked_at=None).first()


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True).order_by("order", "id")


def reports_submitted() -> QuerySet[Report]:
    return Report.objects.exclude(status=Report.Status.DRAFT)


def open_filter() -> Q:
    return Q(status__in=Report.OPEN_STATUSES)
