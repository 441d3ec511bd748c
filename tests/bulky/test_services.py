"""Booking rules: places, fees, cut-off, one booking per resident and day, changes that move the
place atomically, staff marks, erasure, retention and reminders; hostile input saves nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.bulky.models import Booking, CollectionDay, SavedAddress
from madoguchi.bulky.selectors import days_open
from madoguchi.bulky.services import (
    BookingError,
    booking_cancel,
    booking_change_day,
    booking_create,
    booking_mark,
    bookings_erase,
    bookings_purge_before,
    day_update,
    days_create,
    reminders_send_due,
)
from madoguchi.core.models import AuditEntry
from tests.bulky.conftest import person

JST = ZoneInfo("Asia/Tokyo")


def test_a_booking_takes_a_place_totals_fees_on_the_server_and_gets_a_number(make_day, items, make_resident):
    day = make_day(capacity=2)
    resident = make_resident()
    booking = booking_create(
        day_id=day.pk, items={items["chair"].pk: 2, items["sofa"].pk: 1}, resident=resident, **person()
    )
    day.refresh_from_db()
    assert day.booked == 1
    assert booking.fee_total == 2 * 400 + 800
    assert booking.number == f"S-{timezone.localdate().year}-{booking.pk:06d}"
    assert booking.via == "line" and booking.status == "confirmed"
    assert [(line.item.name, line.quantity, line.fee) for line in booking.lines.all()] == [
        ("いす", 2, 400),
        ("ソファー", 1, 800),
    ]
    entry = AuditEntry.objects.get(action="bulky.booking.created", object_id=str(booking.pk))
    assert "みどり市北町" not in str(entry.data)  # addresses never go into the log
    # The confirmation waits as a task, to be pushed after the commit.
    assert DBTaskResult.objects.filter(task_path__endswith="push_booking_message").count() == 1


def test_the_last_place_goes_once_and_a_full_day_is_not_offered(make_day, items, make_resident):
    day = make_day(capacity=1)
    booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())
    with pytest.raises(BookingError, match="いっぱい"):
        booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())
    assert Booking.objects.count() == 1
    assert day not in days_open()


def test_one_booking_per_resident_and_day(make_day, items, make_resident):
    day = make_day(capacity=5)
    resident = make_resident()
    booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=resident, **person())
    with pytest.raises(BookingError, match="すでに予約"):
        booking_create(day_id=day.pk, items={items["sofa"].pk: 1}, resident=resident, **person())
    day.refresh_from_db()
    assert day.booked == 1 and Booking.objects.count() == 1


def test_booking_closes_at_the_cut_off_in_japan_time(make_day, items, make_resident, settings):
    settings.BULKY_CUTOFF_DAYS = 3
    day = make_day(days_ahead=10)
    # 23:59 JST on the cut-off day is still open; a minute later it is closed.
    last_minute = datetime.combine(day.date - timedelta(days=3), datetime.min.time(), JST) + timedelta(
        hours=23, minutes=59
    )
    with time_machine.travel(last_minute, tick=False):
        assert day in days_open()
        booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())
    with time_machine.travel(last_minute + timedelta(minutes=1), tick=False):
        assert day not in days_open()
        with pytest.raises(BookingError, match="締め切り"):
            booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())


def test_staff_may_book_by_phone_after_the_cut_off_but_not_beyond_the_places(make_day, items, clerk):
    day = make_day(days_ahead=1, capacity=1)
    booking = booking_create(
        day_id=day.pk, items={items["massage"].pk: 1}, actor=clerk, **person(name="電話 太郎")
    )
    assert booking.via == "phone" and booking.resident is None and booking.created_by == clerk
    assert not DBTaskResult.objects.exists()  # nobody to tell in LINE
    with pytest.raises(BookingError, match="いっぱい"):
        booking_create(day_id=day.pk, items={items["chair"].pk: 1}, actor=clerk, **person())


@pytest.mark.parametrize(
    ("quantities", "message"),
    [
        ({}, "1 つ以上"),
        ({"chair": 0}, "1 つ以上"),
        ({"chair": -1}, "数量"),
        ({"chair": 11}, "10 点まで"),
        ({"chair": 6, "sofa": 5}, "10 点まで"),
        ({"old": 1}, "選べない"),
        ({"missing": 1}, "選べない"),
    ],
)
def test_hostile_quantities_are_refused(make_day, items, make_resident, quantities, message):
    day = make_day()
    wanted = {(items[key].pk if key in items else 999_999): count for key, count in quantities.items()}
    with pytest.raises(BookingError, match=message):
        booking_create(day_id=day.pk, items=wanted, resident=make_resident(), **person())
    assert not Booking.objects.exists()
    day.refresh_from_db()
    assert day.booked == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "   "}, "お名前"),
        ({"name": "\u202e\u200b"}, "お名前"),
        ({"address": "1"}, "住所"),
        ({"phone": "abc"}, "電話番号"),
        ({"phone": "=1+2"}, "電話番号"),
        ({"phone": "123"}, "電話番号"),
        ({"phone": "0" * 30}, "電話番号"),
    ],
)
def test_hostile_personal_fields_are_refused(make_day, items, make_resident, changes, message):
    with pytest.raises(BookingError, match=message):
        booking_create(
            day_id=make_day().pk, items={items["chair"].pk: 1}, resident=make_resident(), **person(**changes)
        )
    assert not Booking.objects.exists()


def test_text_is_cleaned_and_cut_to_its_length(make_day, items, make_resident):
    booking = booking_create(
        day_id=make_day().pk,
        items={items["chair"].pk: 1},
        resident=make_resident(),
        **person(
            name="  みどり\x00\u202e花子 ",
            address="ｍｉｄｏｒｉ 1-2-3\n" + "あ" * 500,
            phone="０４５-１２３-４５６７",
        ),
    )
    assert booking.name == "みどり 花子"
    assert booking.address.startswith("midori 1-2-3 あ") and len(booking.address) == 200
    assert booking.phone == "045-123-4567"


def test_closed_past_and_unknown_days_are_refused(make_day, items, make_resident):
    closed = make_day(is_open=False)
    for day_id in (closed.pk, make_day(days_ahead=-1, district="minami").pk, 999_999):
        with pytest.raises(BookingError, match="締め切り"):
            booking_create(day_id=day_id, items={items["chair"].pk: 1}, resident=make_resident(), **person())


def test_the_address_is_kept_only_with_consent_and_forgotten_when_unticked(make_day, items, make_resident):
    resident = make_resident()
    booking_create(day_id=make_day().pk, items={items["chair"].pk: 1}, resident=resident, **person())
    assert not SavedAddress.objects.exists()
    booking_create(
        day_id=make_day(days_ahead=11).pk,
        items={items["chair"].pk: 1},
        resident=resident,
        keep_address=True,
        **person(),
    )
    assert SavedAddress.objects.get(resident=resident).address == "みどり市北町1-2-3"
    booking_create(
        day_id=make_day(days_ahead=12).pk, items={items["chair"].pk: 1}, resident=resident, **person()
    )
    assert not SavedAddress.objects.exists()


def test_changing_the_day_moves_the_place_and_a_full_day_changes_nothing(make_day, items, make_resident):
    first, second, full = (
        make_day(capacity=1),
        make_day(days_ahead=12, capacity=1),
        make_day(days_ahead=13, capacity=1),
    )
    booking_create(day_id=full.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())
    booking = booking_create(
        day_id=first.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person()
    )
    with pytest.raises(BookingError, match="いっぱい"):
        booking_change_day(booking, day_id=full.pk)
    counts = {d.pk: d.booked for d in CollectionDay.objects.all()}
    assert counts == {first.pk: 1, second.pk: 0, full.pk: 1}
    booking_change_day(booking, day_id=second.pk)
    counts = {d.pk: d.booked for d in CollectionDay.objects.all()}
    assert counts == {first.pk: 0, second.pk: 1, full.pk: 1}
    booking.refresh_from_db()
    assert booking.day_id == second.pk
    assert AuditEntry.objects.filter(action="bulky.booking.day_changed").count() == 1


def test_cancel_gives_the_place_back_once_and_closes_at_the_cut_off(make_day, items, make_resident):
    day = make_day(capacity=1)
    booking = booking_create(
        day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person()
    )
    booking_cancel(booking)
    day.refresh_from_db()
    assert day.booked == 0
    with pytest.raises(BookingError, match="もう変更できません"):
        booking_cancel(booking)
    day.refresh_from_db()
    assert day.booked == 0
    soon = make_day(days_ahead=2, district="minami")
    late = Booking.objects.create(day=soon, name="x", address="xxxx", phone="0451234567", fee_total=0)
    CollectionDay.objects.filter(pk=soon.pk).update(booked=1)
    with pytest.raises(BookingError, match="締め切り"):
        booking_cancel(late)


def test_staff_mark_collected_or_not_put_out_on_the_day(make_day, items, clerk):
    booking = booking_create(
        day_id=make_day(days_ahead=2).pk, items={items["chair"].pk: 1}, actor=clerk, **person()
    )
    with pytest.raises(BookingError, match="収集日より前"):
        booking_mark(booking, status="collected", actor=clerk)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        booking_mark(booking, status="not_put_out", actor=clerk)
        booking_mark(booking, status="collected", actor=clerk)  # a wrong mark is corrected
        with pytest.raises(BookingError):
            booking_mark(booking, status="cancelled", actor=clerk)
    booking.refresh_from_db()
    assert booking.status == "collected"
    assert AuditEntry.objects.filter(action="bulky.booking.marked").count() == 2


def test_days_are_created_for_weekdays_in_a_range_once(districts, clerk):
    start = date(2027, 6, 7)  # two weeks of June: no national holiday
    made = days_create(
        districts=districts.values(),
        start=start,
        end=start + timedelta(days=13),
        weekdays=[1, 4],
        capacity=30,
        actor=clerk,
    )
    assert made.created == 2 * 4 and made.holidays == made.closed == ()
    assert {d.date.weekday() for d in CollectionDay.objects.all()} == {1, 4}
    again = days_create(
        districts=districts.values(),
        start=start,
        end=start + timedelta(days=13),
        weekdays=[1, 4, 9],
        capacity=5,
        actor=clerk,
    )
    assert again.created == 0 and set(CollectionDay.objects.values_list("capacity", flat=True)) == {30}
    with pytest.raises(BookingError):
        days_create(
            districts=districts.values(),
            start=start,
            end=start + timedelta(days=800),
            weekdays=[1],
            capacity=5,
            actor=clerk,
        )
    with pytest.raises(BookingError):
        days_create(
            districts=districts.values(), start=start, end=start, weekdays=[1], capacity=0, actor=clerk
        )


def test_capacity_cannot_go_below_what_is_booked(make_day, items, make_resident, clerk):
    day = make_day(capacity=3)
    for _ in range(2):
        booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())
    with pytest.raises(BookingError, match="少なく"):
        day_update(day, capacity=1, is_open=True, actor=clerk)
    assert day_update(day, capacity=2, is_open=False, actor=clerk).capacity == 2
    assert day not in days_open()


def test_erasure_cancels_what_is_to_come_and_clears_personal_data(make_day, items, make_resident):
    resident = make_resident()
    day = make_day()
    booking_create(
        day_id=day.pk, items={items["chair"].pk: 1}, resident=resident, keep_address=True, **person()
    )
    past = Booking.objects.create(
        resident=resident,
        day=make_day(days_ahead=-5, district="minami"),
        status="collected",
        name="みどり 花子",
        address="みどり市北町1-2-3",
        phone="0451234567",
        fee_total=400,
    )
    assert bookings_erase(resident.channel_id, resident.line_user_id, "anon") == 2
    assert not SavedAddress.objects.exists()
    day.refresh_from_db()
    assert day.booked == 0
    assert set(Booking.objects.values_list("status", "address", "phone", "name")) == {
        ("cancelled", "", "", ""),
        ("collected", "", "", ""),
    }
    past.refresh_from_db()
    assert past.fee_total == 400  # what was collected stays, without who


def test_retention_clears_old_bookings_personal_data(make_day, items, clerk):
    old = Booking.objects.create(
        day=make_day(days_ahead=-400), name="a", address="addr", phone="0451234567", fee_total=1
    )
    recent = booking_create(
        day_id=make_day(days_ahead=2).pk, items={items["chair"].pk: 1}, actor=clerk, **person()
    )
    assert bookings_purge_before(timezone.now() - timedelta(days=365)) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.address == "" and recent.address == "みどり市北町1-2-3"


def test_reminders_go_once_from_the_hour_the_day_before_and_skip_cancelled(
    make_day, items, make_resident, settings
):
    settings.BULKY_REMINDER_HOUR = 17
    day = make_day(days_ahead=5)
    kept = booking_create(day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person())
    dropped = booking_create(
        day_id=day.pk, items={items["chair"].pk: 1}, resident=make_resident(), **person()
    )
    booking_cancel(dropped)
    DBTaskResult.objects.all().delete()
    eve = datetime.combine(day.date - timedelta(days=1), datetime.min.time(), JST)
    assert reminders_send_due(eve + timedelta(hours=16)) == 0
    assert reminders_send_due(eve + timedelta(hours=17)) == 1
    assert reminders_send_due(eve + timedelta(hours=18)) == 0  # once
    assert DBTaskResult.objects.count() == 1
    kept.refresh_from_db()
    assert kept.reminded_at is not None


def run_retag_tasks() -> None:
    """Run the queued tag tasks here (the confirmation pushes beside them need LINE)."""
    for row in DBTaskResult.objects.filter(task_path="madoguchi.bulky.tasks.retag_resident", status="READY"):
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        row.delete()


def test_booking_in_line_tags_the_resident_until_their_last_booking_is_cancelled(
    make_day, items, make_resident, clerk
):
    from madoguchi.bulky.tagging import BOOKED
    from madoguchi.messaging.segments import segment_residents
    from madoguchi.residents.models import Tag

    resident, other = make_resident(), make_resident()
    # The tag is set by a task once a booking has committed (not while it holds the day's row).
    first = booking_create(day_id=make_day().pk, items={items["chair"].pk: 1}, resident=resident, **person())
    assert not resident.tags.exists()
    run_retag_tasks()
    tag = Tag.objects.get(name=BOOKED)
    assert tag.source == Tag.Source.AUTO and "自動" in tag.description
    assert list(resident.tags.values_list("name", flat=True)) == [BOOKED]
    assert (
        AuditEntry.objects.filter(action="residents.resident.tagged", object_id=str(resident.pk)).count() == 1
    )
    # Deliveries can target them: a segment on the tag finds the resident who booked, and only them.
    booked = segment_residents(resident.channel, {"field": "tag", "in": [BOOKED]})
    assert list(booked.values_list("pk", flat=True)) == [resident.pk]
    second = booking_create(
        day_id=make_day(days_ahead=12).pk, items={items["sofa"].pk: 1}, resident=resident, **person()
    )
    booking_cancel(first)
    run_retag_tasks()
    assert resident.tags.filter(name=BOOKED).exists()  # the second booking still stands
    booking_cancel(second)
    run_retag_tasks()
    assert not resident.tags.filter(name=BOOKED).exists()
    assert (
        AuditEntry.objects.filter(action="residents.resident.untagged", object_id=str(resident.pk)).count()
        == 1
    )
    # A phone booking by staff has no resident: nobody is tagged.
    booking_create(
        day_id=make_day(district="minami").pk, items={items["chair"].pk: 1}, actor=clerk, **person()
    )
    run_retag_tasks()
    assert not other.tags.exists() and not Tag.objects.get(name=BOOKED).residenttag_set.exists()
