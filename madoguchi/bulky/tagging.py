"""The behaviour tag 粗大ごみ予約済み (docs/registration.md lists behaviour tags).

A resident who booked a collection in LINE carries it while they have a booking that was not
cancelled (booked, collected or not put out); cancelling their last one removes it. Phone
bookings made by staff have no resident and tag nobody. It is set by a task the booking enqueues
(`bulky.tasks.retag_resident`, a row committed with the booking), not inside the booking: the
booking holds its day's row and then the audit chain until it commits, and the tag's writes (its
own audit entry among them) there made every resident racing for the day's last places wait
longer (booking_race's p95 96 → 125 ms). The task reads the bookings as they stand, so tasks of a
booking and its cancel may run in any order. Through
`residents.services`, so bulky needs no other domain app. Staff may still set and remove it by hand.
"""

from __future__ import annotations

from madoguchi.bulky.models import Booking
from madoguchi.residents.models import Resident, Tag
from madoguchi.residents.services import resident_tag_add, resident_tag_remove

BOOKED = "粗大ごみ予約済み"
# Stored as written (staff read it in Japanese), whatever language the resident is answered in.
BOOKED_DESCRIPTION = "LINE で粗大ごみの収集を予約した住民 (予約で自動的に付き、すべて取り消すと外れます)"


def tag_residents_who_booked(resident: Resident) -> None:
    """Bring the resident's 粗大ごみ予約済み tag in line with their bookings."""
    standing = Booking.objects.filter(resident=resident).exclude(status=Booking.Status.CANCELLED).exists()
    if standing:
        tag = resident_tag_add(resident, BOOKED)
        if not tag.description:
            Tag.objects.filter(pk=tag.pk).update(description=BOOKED_DESCRIPTION)
        return
    tag_or_none = resident.tags.filter(name=BOOKED).first()
    if tag_or_none is not None:
        resident_tag_remove(resident, tag_or_none)
