"""Reads of 粗大ごみ booking. Residents see their own bookings; staff reads of bookings (names,
addresses, phones) are logged in the audit log, each view and each export."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Prefetch, QuerySet

from madoguchi.bulky import calendar
from madoguchi.bulky.models import Booking, BookingLine, CollectionDay, Item, SavedAddress
from madoguchi.core.audit import audit_record
from madoguchi.residents.models import Resident

Staff = AbstractBaseUser | AnonymousUser


def items_active() -> QuerySet[Item]:
    return Item.objects.filter(is_active=True)


def days_open(*, staff: bool = False) -> QuerySet[CollectionDay]:
    """Days that take bookings now: open, not full, not past the cut-off (for staff: from
    tomorrow), and within the booking horizon."""
    today = calendar.today()
    first = today + timedelta(days=1 if staff else settings.BULKY_CUTOFF_DAYS)
    return (
        CollectionDay.objects.select_related("district")
        .filter(is_open=True, booked__lt=F("capacity"), date__gte=first)
        .filter(date__lte=today + timedelta(days=settings.BULKY_DAYS_AHEAD))
        .order_by("date", "district__sort_order", "pk")
    )


def _with_lines(bookings: QuerySet[Booking]) -> QuerySet[Booking]:
    return bookings.select_related("day__district").prefetch_related(
        Prefetch("lines", queryset=BookingLine.objects.select_related("item"))
    )


def bookings_of_resident(resident: Resident) -> QuerySet[Booking]:
    return _with_lines(Booking.objects.filter(resident=resident)).order_by("-day__date", "-pk")


def booking_of_resident(resident: Resident, number: str) -> Booking | None:
    """The resident's own booking by its number; None for anyone else's."""
    if not number or len(number) > 20:
        return None
    return bookings_of_resident(resident).filter(number=number).first()


def saved_address(resident: Resident) -> SavedAddress | None:
    return SavedAddress.objects.filter(resident=resident).first()


def bookings_for_day(
    actor: Staff,
    day: date,
    *,
    district_id: int | None = None,
    status: str = "",
    ip_address: str | None = None,
    export: str = "",
) -> list[Booking]:
    """One day's bookings in route order (district, then address with its numbers by value, sorted
    here: a day's list is a few hundred at most); the view or export is logged."""
    bookings = _with_lines(Booking.objects.filter(day__date=day))
    if district_id:
        bookings = bookings.filter(day__district_id=district_id)
    if status in Booking.Status.values:
        bookings = bookings.filter(status=status)
    audit_record(
        action="bulky.bookings.exported" if export else "bulky.bookings.viewed",
        actor=actor,
        object_type="bulky.Booking",
        ip_address=ip_address,
        data={
            "date": day.isoformat(),
            "district": district_id,
            "status": status if status in Booking.Status.values else "",
            **({"format": export} if export else {}),
        },
    )
    listed = list(bookings)
    listed.sort(key=lambda b: (b.day.district.sort_order, b.day.district_id, route_key(b.address), b.pk))
    return listed


_NUMBER = re.compile(r"([0-9]+)")


def route_key(address: str) -> list[Any]:
    """Addresses in the order a crew drives them: numbers by value (北町2 before 北町10, 1-9 before
    1-10), full-width digits as digits. Alternating text and numbers, so keys always compare."""
    parts = _NUMBER.split(unicodedata.normalize("NFKC", address))
    return [int(part) if index % 2 else part for index, part in enumerate(parts)]


def booking_for_view(actor: Staff, booking_id: int, *, ip_address: str | None = None) -> Booking:
    booking = _with_lines(Booking.objects.filter(pk=booking_id)).get()
    audit_record(action="bulky.booking.viewed", actor=actor, obj=booking, ip_address=ip_address)
    return booking
