"""Writes: imports, staff edits, the reminder opt-in, and the evening reminder itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from madoguchi.channels.base import MULTICAST_MAX, ChannelError, OutboundMessage, Text, transport_for
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Channel
from madoguchi.garbage.importers import Parsed, parse_5374, parse_sorting
from madoguchi.garbage.models import (
    Area,
    AreaRule,
    Category,
    Center,
    DistrictArea,
    Item,
    ReminderRun,
    ReminderSubscription,
)
from madoguchi.garbage.selectors import collections_on
from madoguchi.residents.models import District, Resident, reply_language_for

logger = logging.getLogger(__name__)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    areas: int = 0
    deactivated: int = 0
    errors: list[str] = field(default_factory=list)


def _category(name: str, cache: dict[str, Category]) -> Category:
    if name not in cache:
        cache[name], _ = Category.objects.get_or_create(name=name, defaults={"sort_order": 100 + len(cache)})
    return cache[name]


def _items_save(parsed: Parsed, *, replace: bool) -> ImportReport:
    report = ImportReport(errors=list(parsed.errors))
    categories = {c.name: c for c in Category.objects.all()}
    existing = {item.key: item for item in Item.objects.filter(source=parsed.source)}
    create, update = [], []
    for row in parsed.items:
        category = _category(row.category, categories)
        item = existing.get(row.key)
        if item is None:
            create.append(
                Item(
                    source=parsed.source,
                    key=row.key,
                    name=row.name,
                    reading=row.reading,
                    category=category,
                    notice=row.notice,
                )
            )
        else:
            item.name, item.reading, item.category, item.notice, item.is_active = (
                row.name,
                row.reading,
                category,
                row.notice,
                True,
            )
            item.updated_at = timezone.now()
            update.append(item)
    Item.objects.bulk_create(create, batch_size=500)
    Item.objects.bulk_update(
        update, ["name", "reading", "category", "notice", "is_active", "updated_at"], batch_size=500
    )
    report.created, report.updated = len(create), len(update)
    if replace:
        keys = {row.key for row in parsed.items}
        gone = [pk for key, item in existing.items() if key not in keys for pk in [item.pk]]
        report.deactivated = Item.objects.filter(pk__in=gone, is_active=True).update(
            is_active=False, updated_at=timezone.now()
        )
    return report


def sorting_import(data: bytes, name: str, *, actor: Any = None, replace: bool = False) -> ImportReport:
    """Import a sorting table (津市形式, 分別辞典, 5374 target.csv). Raises ImportRefused."""
    parsed = parse_sorting(data, name)
    with transaction.atomic():
        report = _items_save(parsed, replace=replace)
        audit_record(
            action="garbage.items.imported",
            actor=actor,
            object_type="garbage.Item",
            data={
                "file": name[:100],
                "source": parsed.source,
                "created": report.created,
                "updated": report.updated,
            },
        )
    return report


def _free_slug(base: str, taken: set[str]) -> str:
    slug = base
    n = 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    taken.add(slug)
    return slug


def import_5374(files: dict[str, bytes], *, actor: Any = None, slug_prefix: str = "area") -> ImportReport:
    """Import a 5374.jp folder: categories, centres and their closures, areas and their rules,
    and target.csv's items. Areas are matched by name, so importing again updates them."""
    parsed = parse_5374(files)
    with transaction.atomic():
        categories = {c.name: c for c in Category.objects.all()}
        for order, row in enumerate(parsed.categories):
            category = _category(row.name, categories)
            category.description = row.description or category.description
            category.color = row.color or category.color
            category.sort_order = order
            category.save()
        centers: dict[str, Center] = {}
        for center_row in parsed.centers:
            center, _ = Center.objects.update_or_create(
                name=center_row.name,
                defaults={"closed_from": center_row.closed_from, "closed_until": center_row.closed_until},
            )
            centers[center.name] = center
        taken = set(Area.objects.values_list("slug", flat=True))
        for order, area_row in enumerate(parsed.areas, start=1):
            area_center = centers.get(area_row.center)
            if area_center is None and area_row.center:
                area_center, _ = Center.objects.get_or_create(name=area_row.center)
                centers[area_center.name] = area_center
            area = Area.objects.filter(name=area_row.name).first()
            if area is None:
                slug = _free_slug(slugify(f"{slug_prefix}-{order:03d}") or "area", taken)
                area = Area(name=area_row.name, slug=slug)
            area.center = area_center
            area.sort_order = order
            area.save()
            for category_name, text in area_row.rules.items():
                AreaRule.objects.update_or_create(
                    area=area, category=_category(category_name, categories), defaults={"rule": text}
                )
        report = (
            _items_save(parsed, replace=False) if parsed.items else ImportReport(errors=list(parsed.errors))
        )
        report.areas = len(parsed.areas)
        audit_record(
            action="garbage.calendar.imported",
            actor=actor,
            object_type="garbage.Area",
            data={
                "areas": report.areas,
                "items": report.created + report.updated,
                "refused": len(report.errors),
            },
        )
    return report


# Staff edits (console)


def category_update(*, category: Category, actor: Any, fields: dict[str, Any]) -> Category:
    with transaction.atomic():
        for name, value in fields.items():
            setattr(category, name, value)
        category.full_clean()
        category.save()
        audit_record(
            action="garbage.category.updated", actor=actor, obj=category, data={"fields": sorted(fields)}
        )
    return category


def item_save(*, item: Item, actor: Any) -> Item:
    created = item.pk is None
    with transaction.atomic():
        if created and not item.key:
            item.source = Item.Source.STAFF
            item.key = f"staff:{timezone.now().timestamp()}:{item.name[:100]}"
        item.full_clean()
        item.save()
        audit_record(
            action="garbage.item.created" if created else "garbage.item.updated", actor=actor, obj=item
        )
    return item


def area_rule_update(*, area: Area, category: Category, rule: str, actor: Any) -> AreaRule:
    with transaction.atomic():
        area_rule, _ = AreaRule.objects.get_or_create(area=area, category=category)
        area_rule.rule = rule.strip()
        area_rule.full_clean()
        area_rule.save()
        audit_record(action="garbage.rule.updated", actor=actor, obj=area_rule, data={"rule": area_rule.rule})
    return area_rule


def center_update(*, center: Center, actor: Any, fields: dict[str, Any]) -> Center:
    """A centre's 年末年始 closure (dates and handling), which staff set each year."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(center, name, value)
        center.full_clean()
        center.save()
        audit_record(
            action="garbage.center.updated",
            actor=actor,
            obj=center,
            data={
                "closed_from": str(center.closed_from or ""),
                "closed_until": str(center.closed_until or ""),
                "handling": center.closure_handling,
            },
        )
    return center


def area_districts_set(*, area: Area, districts: list[District], actor: Any) -> None:
    """The residents' districts this area serves. A district belongs to one area, so choosing
    it here moves it from the area it belonged to."""
    with transaction.atomic():
        DistrictArea.objects.filter(area=area).exclude(district__in=districts).delete()
        for district in districts:
            DistrictArea.objects.update_or_create(district=district, defaults={"area": area})
        audit_record(
            action="garbage.area.districts_set",
            actor=actor,
            obj=area,
            data={"districts": sorted(d.code for d in districts)},
        )


# Reminders


def reminder_subscribe(resident: Resident) -> bool:
    """Opt in; False if they already had."""
    try:
        with transaction.atomic():
            ReminderSubscription.objects.create(resident=resident)
    except IntegrityError:
        return False
    return True


def reminder_unsubscribe(resident: Resident) -> bool:
    return ReminderSubscription.objects.filter(resident=resident).delete()[0] > 0


def resident_erase(channel_id: int, line_user_id: str, pseudonym: str) -> int:
    """Erasure (residents.services.ERASURE_HOOKS): the reminder opt-in goes."""
    return ReminderSubscription.objects.filter(
        resident__channel_id=channel_id, resident__line_user_id=line_user_id
    ).delete()[0]


def reminder_due(now: datetime | None = None) -> bool:
    local = timezone.localtime(now or timezone.now())
    hour, minute = (int(part) for part in settings.GARBAGE_REMINDER_TIME.split(":"))
    return (local.hour, local.minute) >= (hour, minute)


def reminders_send(now: datetime | None = None) -> int:
    """The periodic job: after the reminder time, tell each opted-in resident whose area has a
    collection tomorrow. One ReminderRun per (channel, area, day) is claimed first (a unique
    row), its recipients fixed; multicasts carry dedupe keys made of the run and the batch, so
    a second run, or a run after a crash, never sends twice. Returns the residents reached."""
    now = now or timezone.now()
    if not reminder_due(now):
        return 0
    tomorrow = timezone.localtime(now).date() + timedelta(days=1)
    reached = 0
    subscribers = Resident.objects.filter(
        garbage_reminder__isnull=False,
        status=Resident.Status.ACTIVE,
        anonymised_at__isnull=True,
        district__garbage_area__isnull=False,
    )
    pairs = subscribers.values_list("channel_id", "district__garbage_area__area_id").distinct()
    for channel_id, area_id in sorted(set(pairs)):
        area = Area.objects.get(pk=area_id)
        collections = collections_on(area, tomorrow)
        if not collections:
            continue
        run = _run_claim(channel_id, area, tomorrow, [c.category for c in collections], subscribers)
        if run is not None:
            reached += _run_send(run)
    for run in ReminderRun.objects.filter(state=ReminderRun.State.SENDING, day=tomorrow):
        reached += _run_send(run)  # a run a crashed worker left half-done
    return reached


def _run_claim(
    channel_id: int, area: Area, day: Any, categories: list[str], subscribers: Any
) -> ReminderRun | None:
    # [LINE user id, reply language], grouped by language: each language is its own multicasts.
    recipients = sorted(
        (
            [user_id, reply_language_for(language)]
            for user_id, language in subscribers.filter(
                channel_id=channel_id, district__garbage_area__area=area
            )
            .order_by("pk")
            .values_list("line_user_id", "language")
        ),
        key=lambda pair: pair[1],
    )
    try:
        with transaction.atomic():
            return ReminderRun.objects.create(
                channel_id=channel_id,
                area=area,
                day=day,
                categories="・".join(categories)[:300],
                recipients=recipients,
                recipient_count=len(recipients),
            )
    except IntegrityError:
        return None  # already claimed (sent, or being sent by another worker)


def _run_send(run: ReminderRun) -> int:
    # Two workers may both resume a run a crash left half-done: the transport's dedupe keys
    # (one per run and batch) make the second send nothing.
    channel = Channel.objects.get(pk=run.channel_id)
    transport = transport_for(channel)
    by_language: dict[str, list[str]] = {}
    for user_id, language in run.recipients:
        by_language.setdefault(str(language), []).append(str(user_id))
    try:
        for language, user_ids in sorted(by_language.items()):
            messages: list[OutboundMessage] = [Text(reminder_text(run, language))]
            for batch, start in enumerate(range(0, len(user_ids), MULTICAST_MAX)):
                transport.multicast(
                    channel,
                    user_ids=user_ids[start : start + MULTICAST_MAX],
                    messages=messages,
                    dedupe_key=f"garbage.reminder:{run.pk}:{language}:{batch}",
                    aggregation_unit="garbage_reminder",
                )
    except ChannelError as error:
        if error.permanent:  # nothing more will be sent: the ids are not needed any longer
            ReminderRun.objects.filter(pk=run.pk).update(
                state=ReminderRun.State.FAILED, recipients=[], error=error.message[:500]
            )
        else:
            ReminderRun.objects.filter(pk=run.pk).update(error=error.message[:500])
        logger.warning("garbage reminder %s failed: %s", run.pk, error.status)
        return 0
    ReminderRun.objects.filter(pk=run.pk).update(
        state=ReminderRun.State.SENT, sent_at=timezone.now(), recipients=[], error=""
    )
    return len(run.recipients)


def reminder_text(run: ReminderRun, language: str) -> str:
    """The reminder in `language` (category and area names are the city's, in Japanese)."""
    with translation.override(language):
        return _("明日 %(month)s月%(day)s日 は %(categories)s の日です。(%(area)s)\n") % {
            "month": run.day.month,
            "day": run.day.day,
            "categories": run.categories,
            "area": run.area.name,
        } + _("お知らせをやめるときは「ごみ通知停止」と送ってください。")
