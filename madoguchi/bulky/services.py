"""Writes of 粗大ごみ booking: bookings (made in LINE or by staff on the phone), their changes and
cancellations, collection results, places per district and day, the catalog, reminders, erasure.

The last place on a day is never taken twice: a booking takes its place with one conditional
UPDATE (`booked = booked + 1 WHERE booked < capacity`), in the same transaction as the booking row,
so of two residents racing for it one UPDATE matches and the other matches nothing (PostgreSQL
re-checks the condition after the first commits). A CHECK constraint (`booked <= capacity`) is
the database's own second guard. Moving a booking to another day takes the new place and gives
back the old one in one transaction, the two rows locked in id order (no deadlock between two
residents swapping days), so no moment exists where both or neither hold it.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.bulky import calendar
from madoguchi.bulky.models import Booking, BookingLine, CollectionDay, Item, SavedAddress
from madoguchi.core.audit import audit_record
from madoguchi.residents.models import District, Resident

Staff = AbstractBaseUser | AnonymousUser

MAX_NAME, MAX_ADDRESS, MAX_PHONE_DIGITS = 50, 200, 15
CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
PHONE_CHARS = re.compile(r"^\+?[0-9()\- ]+$")


class BookingError(Exception):
    """A booking that cannot be made or changed; the message is for the resident (Japanese)."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


FULL = _("この日は予約がいっぱいになりました。別の日を選んでください。")
CLOSED = _("この日の受付は締め切りました。別の日を選んでください。")
OTHER_DISTRICT = _("同じ地区の収集日を選んでください。")
ALREADY = _(
    "この日には、すでに予約があります。品物を追加するときは、予約を取り消してから申し込み直してください。"
)


# Cleaning what people type


def clean_text(value: str, limit: int) -> str:
    """One line of text: NFKC, no control or direction characters, spaces squeezed."""
    text = unicodedata.normalize("NFKC", value or "")
    text = CONTROL.sub(" ", text)
    return " ".join(text.split())[:limit]


def clean_phone(value: str) -> str:
    """A phone number as typed (digits, hyphens, brackets, +); raises BookingError otherwise."""
    phone = clean_text(value, 40)
    digits = re.sub(r"\D", "", phone)
    if not phone or not PHONE_CHARS.match(phone) or not 10 <= len(digits) <= MAX_PHONE_DIGITS:
        raise BookingError(_("電話番号を、例のように入れてください (例: 045-123-4567)。"))
    return phone[:20]


def _person(name: str, address: str, phone: str) -> tuple[str, str, str]:
    name, address = clean_text(name, MAX_NAME), clean_text(address, MAX_ADDRESS)
    if not name:
        raise BookingError(_("お名前を入れてください。"))
    if len(address) < 4:
        raise BookingError(_("収集にうかがう住所を、番地まで入れてください。"))
    return name, address, clean_phone(phone)


def lines_for(items: Mapping[int, int]) -> list[tuple[Item, int]]:
    """The catalog items and quantities asked for, checked: active items, 1..max pieces in all."""
    wanted = {int(pk): int(quantity) for pk, quantity in items.items() if int(quantity) != 0}
    if any(quantity < 0 for quantity in wanted.values()):
        raise BookingError(_("数量を確かめてください。"))
    if not wanted:
        raise BookingError(_("出す品物を 1 つ以上選んでください。"))
    if sum(wanted.values()) > settings.BULKY_MAX_ITEMS:
        raise BookingError(
            _("1 回に申し込めるのは %(count)s 点までです。") % {"count": settings.BULKY_MAX_ITEMS}
        )
    catalog = {item.pk: item for item in Item.objects.filter(pk__in=wanted, is_active=True)}
    if len(catalog) != len(wanted):
        raise BookingError(_("選べない品物が含まれています。選び直してください。"))
    return [(catalog[pk], wanted[pk]) for pk in sorted(wanted, key=lambda pk: catalog[pk].sort_order)]


def fee_total(lines: Iterable[tuple[Item, int]]) -> int:
    return sum(item.fee * quantity for item, quantity in lines)


def _open_day(day_id: int, *, staff: bool) -> CollectionDay:
    day = CollectionDay.objects.select_related("district").filter(pk=day_id).first()
    if day is None or not day.is_open:
        raise BookingError(CLOSED)
    if day.date <= calendar.today() or (not staff and not calendar.is_changeable(day.date)):
        raise BookingError(CLOSED)
    return day


def _take(day_id: int) -> None:
    """Take one place, or raise: the conditional UPDATE that keeps the last place single."""
    taken = CollectionDay.objects.filter(pk=day_id, is_open=True, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if taken != 1:
        raise BookingError(FULL)


def _give_back(day_id: int) -> None:
    CollectionDay.objects.filter(pk=day_id, booked__gt=0).update(booked=F("booked") - 1)


# Bookings


def booking_create(
    *,
    day_id: int,
    items: Mapping[int, int],
    name: str,
    address: str,
    phone: str,
    resident: Resident | None = None,
    actor: Staff | None = None,
    keep_address: bool = False,
    note: str = "",
    ip_address: str | None = None,
) -> Booking:
    """Book a place on a collection day. A resident books in LINE (`resident`, the confirmation is
    pushed to their chat); staff book for a caller (`actor`, via phone; the cut-off does not stop
    staff, the capacity does). Raises BookingError with a message for the person."""
    staff = actor is not None and actor.is_authenticated
    if resident is None and not staff:
        raise BookingError(_("予約する人がわかりません。"))
    day = _open_day(day_id, staff=staff)
    if day.booked >= day.capacity:
        raise BookingError(FULL)  # already full when read: no need to queue on the row lock
    lines = lines_for(items)
    name, address, phone = _person(name, address, phone)
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                channel_id=resident.channel_id if resident else None,
                resident=resident,
                via=Booking.Via.PHONE if staff else Booking.Via.LINE,
                day=day,
                name=name,
                address=address,
                phone=phone,
                fee_total=fee_total(lines),
                note=clean_text(note, 300),
                created_by=actor if staff else None,  # type: ignore[misc]
            )
            booking.number = f"S-{timezone.localdate().year}-{booking.pk:06d}"
            booking.save(update_fields=["number"])
            BookingLine.objects.bulk_create(
                BookingLine(booking=booking, item=item, quantity=quantity, fee=item.fee)
                for item, quantity in lines
            )
            if resident is not None:
                _remember_address(resident, name, address, phone, keep=keep_address)
                _confirm_later(booking, "created")
                _retag_later(resident)
            # The place is taken last, so the day's row stays locked only for the audit entry
            # and the commit: residents racing for it queue for as short a time as can be.
            _take(day.pk)
            audit_record(
                action="bulky.booking.created",
                actor=actor,
                obj=booking,
                ip_address=ip_address,
                data={"via": booking.via, "day": day.pk, "pieces": sum(q for _i, q in lines)},
            )
    except IntegrityError:
        raise BookingError(ALREADY) from None
    return booking


def _remember_address(resident: Resident, name: str, address: str, phone: str, *, keep: bool) -> None:
    """Kept only with the resident's consent (次回も使う); unticking it forgets what was kept."""
    if keep:
        SavedAddress.objects.update_or_create(
            resident=resident,
            defaults={"name": name, "address": address, "phone": phone, "consented_at": timezone.now()},
        )
    else:
        SavedAddress.objects.filter(resident=resident).delete()


def _locked(booking: Booking) -> Booking:
    return Booking.objects.select_for_update(of=("self",)).select_related("day").get(pk=booking.pk)


def _may_change(booking: Booking, *, staff: bool) -> None:
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingError(_("この予約は、もう変更できません。"))
    if booking.day.date <= calendar.today() or (not staff and not calendar.is_changeable(booking.day.date)):
        raise BookingError(
            _("変更・取り消しの締め切りを過ぎました。粗大ごみ受付センターに電話でご相談ください。")
        )


def booking_change_day(
    booking: Booking,
    *,
    day_id: int,
    actor: Staff | None = None,
    ip_address: str | None = None,
) -> Booking:
    """Move a booking to another open day of the same district (a resident until the cut-off,
    staff until the day before): the new place is taken and the old one given back in one
    transaction; if the new day is full, closed, past or another district's, nothing changes."""
    staff = actor is not None and actor.is_authenticated
    new_day = _open_day(day_id, staff=staff)
    try:
        with transaction.atomic():
            current = _locked(booking)
            _may_change(current, staff=staff)
            old_id = current.day_id
            if old_id == new_day.pk:
                return current
            if new_day.district_id != current.day.district_id:
                # Crews collect by district: a booking moves only to another day of its own.
                raise BookingError(OTHER_DISTRICT)
            # Lock the two days in id order, so two moves in opposite directions cannot deadlock.
            if new_day.pk < old_id:
                _take(new_day.pk)
                _give_back(old_id)
            else:
                _give_back(old_id)
                _take(new_day.pk)
            current.day = new_day
            current.reminded_at = None
            current.save(update_fields=["day", "reminded_at", "updated_at"])
            audit_record(
                action="bulky.booking.day_changed",
                actor=actor,
                obj=current,
                ip_address=ip_address,
                data={"from": old_id, "to": new_day.pk},
            )
            if current.resident_id is not None:
                _confirm_later(current, "changed")
    except IntegrityError:
        raise BookingError(ALREADY) from None
    return current


def booking_cancel(booking: Booking, *, actor: Staff | None = None, ip_address: str | None = None) -> Booking:
    """Cancel and give the place back. Residents may until the cut-off; staff until the day."""
    staff = actor is not None and actor.is_authenticated
    with transaction.atomic():
        current = _locked(booking)
        _may_change(current, staff=staff)
        current.status = Booking.Status.CANCELLED
        current.save(update_fields=["status", "updated_at"])
        _give_back(current.day_id)
        audit_record(action="bulky.booking.cancelled", actor=actor, obj=current, ip_address=ip_address)
        if current.resident is not None:
            _retag_later(current.resident)
            _confirm_later(current, "cancelled")
    return current


MARKS = (Booking.Status.COLLECTED, Booking.Status.NOT_PUT_OUT)


def booking_mark(booking: Booking, *, status: str, actor: Staff, ip_address: str | None = None) -> Booking:
    """The crew's result: collected, or not put out (a wrong mark may be corrected)."""
    if status not in MARKS:
        raise BookingError(_("選び直してください。"))
    with transaction.atomic():
        current = _locked(booking)
        if current.status == Booking.Status.CANCELLED:
            raise BookingError(_("取り消された予約です。"))
        if current.day.date > calendar.today():
            raise BookingError(_("収集日より前には記録できません。"))
        previous = current.status
        current.status = status
        current.save(update_fields=["status", "updated_at"])
        audit_record(
            action="bulky.booking.marked",
            actor=actor,
            obj=current,
            ip_address=ip_address,
            data={"from": previous, "to": status},
        )
    return current


def _confirm_later(booking: Booking, kind: str) -> None:
    """The bot tells the resident in LINE, once the transaction commits (the task is a row of
    the same database, so a rolled-back booking sends nothing)."""
    from madoguchi.bulky.tasks import push_booking_message

    push_booking_message.enqueue(booking.pk, kind, secrets.token_hex(8))


def _retag_later(resident: Resident) -> None:
    """The 粗大ごみ予約済み tag follows once the booking has committed (see bulky/tagging.py)."""
    from madoguchi.bulky.tasks import retag_resident

    retag_resident.enqueue(resident.pk)


# Places per district and day


@dataclass(frozen=True)
class DaysCreated:
    """What `days_create` did: how many days it opened, and the dates it left out."""

    created: int
    holidays: tuple[date, ...] = ()  # national holidays (jpholiday)
    closed: tuple[date, ...] = ()  # inside a district's closure (the centre's 年末年始)


def days_create(
    *,
    districts: Iterable[District],
    start: date,
    end: date,
    weekdays: Iterable[int],
    capacity: int,
    actor: Staff,
    ip_address: str | None = None,
    closures: Mapping[int, Iterable[tuple[date, date]]] | None = None,
) -> DaysCreated:
    """Open collection days for each district on the given weekdays (0 = Monday) between two
    dates; days that exist already are left as they are. National holidays are left out, and so
    are the days inside a district's closed periods (`closures`: district id → (first, last)
    days, inclusive; the caller knows them, e.g. the garbage centre's 年末年始)."""
    if end < start or (end - start).days > 366:
        raise BookingError(_("期間は 1 年以内で指定してください。"))
    if not 1 <= capacity <= 10_000:
        raise BookingError(_("受付枠は 1〜10000 で指定してください。"))
    chosen_weekdays = {int(weekday) for weekday in weekdays if 0 <= int(weekday) <= 6}
    on_weekdays = [
        start + timedelta(days=offset)
        for offset in range((end - start).days + 1)
        if (start + timedelta(days=offset)).weekday() in chosen_weekdays
    ]
    holidays = tuple(day for day in on_weekdays if calendar.is_holiday(day))
    dates = [day for day in on_weekdays if day not in holidays]
    districts = list(districts)
    closed_periods = {pk: list(periods) for pk, periods in (closures or {}).items()}

    def closed(district: District, day: date) -> bool:
        return any(first <= day <= last for first, last in closed_periods.get(district.pk, []))

    closed_days = tuple(sorted({day for district in districts for day in dates if closed(district, day)}))
    with transaction.atomic():
        existing = set(
            CollectionDay.objects.filter(district__in=districts, date__in=dates).values_list(
                "district_id", "date"
            )
        )
        created = CollectionDay.objects.bulk_create(
            CollectionDay(district=district, date=day, capacity=capacity)
            for district in districts
            for day in dates
            if (district.pk, day) not in existing and not closed(district, day)
        )
        audit_record(
            action="bulky.days.created",
            actor=actor,
            object_type="bulky.CollectionDay",
            ip_address=ip_address,
            data={
                "count": len(created),
                "districts": [d.code for d in districts],
                "from": start.isoformat(),
                "to": end.isoformat(),
                "capacity": capacity,
                "skipped_holidays": [day.isoformat() for day in holidays],
                "skipped_closed": [day.isoformat() for day in closed_days],
            },
        )
    return DaysCreated(len(created), holidays, closed_days)


def day_update(
    day: CollectionDay, *, capacity: int, is_open: bool, actor: Staff, ip_address: str | None = None
) -> CollectionDay:
    """Change a day's places (never below what is booked) or close it to new bookings."""
    if not 0 <= capacity <= 10_000:
        raise BookingError(_("受付枠は 0〜10000 で指定してください。"))
    with transaction.atomic():
        changed = CollectionDay.objects.filter(pk=day.pk, booked__lte=capacity).update(
            capacity=capacity, is_open=is_open
        )
        if changed != 1:
            raise BookingError(_("受付枠を、予約済みの数より少なくはできません。"))
        audit_record(
            action="bulky.day.updated",
            actor=actor,
            obj=day,
            ip_address=ip_address,
            data={"capacity": capacity, "is_open": is_open},
        )
    day.refresh_from_db()
    return day


# The catalog


def item_save(item: Item | None, *, actor: Staff, ip_address: str | None = None, **fields: Any) -> Item:
    with transaction.atomic():
        if item is None:
            item = Item.objects.create(**fields)
            action = "bulky.item.created"
        else:
            for key, value in fields.items():
                setattr(item, key, value)
            item.save()
            action = "bulky.item.updated"
        audit_record(action=action, actor=actor, obj=item, ip_address=ip_address, data={"fee": item.fee})
    return item


# Reminders


def reminders_send_due(now: datetime | None = None) -> int:
    """Periodic: from `BULKY_REMINDER_HOUR` on the day before, each confirmed booking made in LINE
    is reminded once (claimed with a conditional UPDATE, so two workers send one reminder)."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.BULKY_REMINDER_HOUR:
        return 0
    from madoguchi.bulky.tasks import push_booking_message

    due = Booking.objects.filter(
        status=Booking.Status.CONFIRMED,
        day__date=local.date() + timedelta(days=1),
        resident__isnull=False,
        reminded_at=None,
    ).values_list("pk", "day__date")
    sent = 0
    for booking_id, collection in list(due[:5000]):
        with transaction.atomic():
            if Booking.objects.filter(pk=booking_id, reminded_at=None).update(reminded_at=now) == 1:
                # Keyed by the day: a booking moved to another day is reminded again.
                push_booking_message.enqueue(booking_id, "reminder", collection.isoformat())
                sent += 1
    return sent


# Erasure and retention


def bookings_erase(channel_id: int, line_user_id: str, pseudonym: str) -> int:
    """Erasure (residents.services.ERASURE_HOOKS): the saved address goes; bookings still to come
    are cancelled (their places given back: nobody can be collected from without an address);
    every booking keeps what was collected and when, without the name, address or phone."""
    residents = Resident.objects.filter(channel_id=channel_id, line_user_id=line_user_id)
    SavedAddress.objects.filter(resident__in=residents).delete()
    bookings = Booking.objects.filter(resident__in=residents)
    for booking in bookings.filter(status=Booking.Status.CONFIRMED, day__date__gte=calendar.today()):
        with transaction.atomic():
            if Booking.objects.filter(pk=booking.pk, status=Booking.Status.CONFIRMED).update(
                status=Booking.Status.CANCELLED
            ):
                _give_back(booking.day_id)
    return bookings.update(name="", address="", phone="")


def bookings_purge_before(cutoff: datetime) -> int:
    """Retention (core.retention): bookings collected before `cutoff` keep no name, address or phone."""
    return (
        Booking.objects.filter(day__date__lt=timezone.localdate(cutoff))
        .exclude(address="", phone="", name="")
        .update(name="", address="", phone="")
    )
