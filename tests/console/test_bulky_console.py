"""The garbage department's 粗大ごみ screens: a day's list and route export (formula-safe CSV,
Excel), marks, places per day, the catalog and phone bookings; every view and export audited;
other departments kept out."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from madoguchi.bulky.models import Booking, CollectionDay, Item
from madoguchi.bulky.services import booking_create
from madoguchi.core.models import AuditEntry
from madoguchi.residents.models import District


@pytest.fixture
def gomi(staff_client) -> Any:
    return staff_client("dept_staff", "gomi")


@pytest.fixture
def day_world(db: None) -> dict[str, Any]:
    kita = District.objects.create(code="kita", name="北地区", sort_order=0)
    minami = District.objects.create(code="minami", name="南地区", sort_order=1)
    date = timezone.localdate() + timedelta(days=1)
    return {
        "kita": kita,
        "minami": minami,
        "date": date,
        "kita_day": CollectionDay.objects.create(district=kita, date=date, capacity=3),
        "minami_day": CollectionDay.objects.create(district=minami, date=date, capacity=3),
        "chair": Item.objects.create(name="いす", fee=400),
    }


def phone_booking(world: dict[str, Any], actor: Any, day: str, **person: str) -> Booking:
    return booking_create(
        day_id=world[day].pk,
        items={world["chair"].pk: 1},
        actor=actor,
        **{"name": "電話 太郎", "address": "北町1-1", "phone": "045-000-0000", **person},
    )


def test_a_day_lists_its_bookings_in_route_order_and_the_view_is_logged(gomi, day_world):
    actor = gomi.session["_auth_user_id"]
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=actor)
    phone_booking(day_world, user, "minami_day", address="南町9-9")
    phone_booking(day_world, user, "kita_day", address="北町2-2")
    phone_booking(day_world, user, "kita_day", address="北町1-1")
    page = gomi.get(reverse("console:bulky"), {"date": day_world["date"].isoformat()}).content.decode()
    assert page.index("北町1-1") < page.index("北町2-2") < page.index("南町9-9")
    assert AuditEntry.objects.filter(action="bulky.bookings.viewed", actor_label="dept_staff-gomi").exists()
    only_south = gomi.get(
        reverse("console:bulky"), {"date": day_world["date"].isoformat(), "district": day_world["minami"].pk}
    ).content.decode()
    assert "南町9-9" in only_south and "北町1-1" not in only_south
    # Nonsense filters are dropped, not errors.
    assert (
        gomi.get(
            reverse("console:bulky"), {"date": "2026-13-45", "district": "x" * 50, "status": "<b>"}
        ).status_code
        == 200
    )


def test_the_route_export_is_formula_safe_and_logged(gomi, day_world, django_user_model):
    user = django_user_model.objects.get(username="dept_staff-gomi")
    phone_booking(day_world, user, "kita_day", name='=HYPERLINK("http://evil","x")', address="@SUM(1+1)")
    cancelled = phone_booking(day_world, user, "kita_day", address="北町5-5")
    Booking.objects.filter(pk=cancelled.pk).update(status="cancelled")
    answer = gomi.get(
        reverse("console:bulky_export", kwargs={"fmt": "csv"}), {"date": day_world["date"].isoformat()}
    )
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["順", "地区", "住所"] and len(rows) == 2  # the cancelled one is not on the route
    assert rows[1][2] == "'@SUM(1+1)" and rows[1][3].startswith("'=HYPERLINK")
    xlsx = gomi.get(
        reverse("console:bulky_export", kwargs={"fmt": "xlsx"}), {"date": day_world["date"].isoformat()}
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(row=2, column=3).value == "'@SUM(1+1)"
    assert AuditEntry.objects.filter(action="bulky.bookings.exported").count() == 2


def test_staff_take_a_phone_booking_with_the_same_places(gomi, day_world):
    CollectionDay.objects.filter(pk=day_world["kita_day"].pk).update(booked=3)
    form = {
        "day": day_world["minami_day"].pk,
        "name": "電話 太郎",
        "address": "南町1-2-3",
        "phone": "045-111-2222",
        f"qty-{day_world['chair'].pk}": "2",
    }
    answer = gomi.post(reverse("console:bulky_phone"), form)
    assert answer.status_code == 302
    booking = Booking.objects.get()
    assert (
        booking.via == "phone"
        and booking.fee_total == 800
        and booking.created_by.username == "dept_staff-gomi"
    )
    # A full day is not offered; an item count out of range is refused.
    full = gomi.post(reverse("console:bulky_phone"), {**form, "day": day_world["kita_day"].pk})
    assert full.status_code == 400 and Booking.objects.count() == 1
    hostile = gomi.post(reverse("console:bulky_phone"), {**form, f"qty-{day_world['chair'].pk}": "999"})
    assert hostile.status_code == 400 and Booking.objects.count() == 1


def test_marks_on_the_day_and_cancel(gomi, day_world, django_user_model):
    user = django_user_model.objects.get(username="dept_staff-gomi")
    booking = phone_booking(day_world, user, "kita_day")
    url = reverse("console:bulky_booking_action", kwargs={"booking_id": booking.pk, "action": "collected"})
    gomi.post(url)
    booking.refresh_from_db()
    assert booking.status == "confirmed"  # not before the day
    CollectionDay.objects.filter(pk=day_world["kita_day"].pk).update(
        date=timezone.localdate()
    )  # the day came
    gomi.post(url)
    booking.refresh_from_db()
    assert booking.status == "collected"
    assert gomi.get(url).status_code == 405
    assert AuditEntry.objects.filter(action="bulky.booking.marked", object_id=str(booking.pk)).exists()


def test_days_in_bulk_and_capacity_edits(gomi, day_world):
    start = timezone.localdate() + timedelta(days=7)
    answer = gomi.post(
        reverse("console:bulky_days"),
        {
            "districts": [day_world["kita"].pk, day_world["minami"].pk],
            "start": start.isoformat(),
            "end": (start + timedelta(days=6)).isoformat(),
            "weekdays": ["0", "3"],
            "capacity": "25",
        },
    )
    assert answer.status_code == 302
    assert CollectionDay.objects.filter(capacity=25).count() == 4
    hostile = gomi.post(
        reverse("console:bulky_days"),
        {"districts": ["x"], "start": "yesterday", "weekdays": ["9"], "capacity": "-1"},
    )
    assert hostile.status_code == 400
    day = day_world["kita_day"]
    CollectionDay.objects.filter(pk=day.pk).update(booked=2)
    gomi.post(
        reverse("console:bulky_day_update", kwargs={"day_id": day.pk}), {"capacity": "1", "is_open": "on"}
    )
    day.refresh_from_db()
    assert day.capacity == 3
    gomi.post(reverse("console:bulky_day_update", kwargs={"day_id": day.pk}), {"capacity": "10"})
    day.refresh_from_db()
    assert day.capacity == 10 and not day.is_open


def test_the_catalog_is_edited_with_fees_in_range(gomi, day_world):
    chair = day_world["chair"]
    answer = gomi.post(
        reverse("console:bulky_item", kwargs={"item_id": chair.pk}),
        {
            "name": "いす",
            "reading": "いす",
            "fee": "500",
            "size_note": "",
            "sort_order": "0",
            "is_active": "on",
        },
    )
    assert answer.status_code == 302
    chair.refresh_from_db()
    assert chair.fee == 500
    refused = gomi.post(
        reverse("console:bulky_items"), {"name": "x" * 500, "fee": "9999999", "sort_order": "0"}
    )
    assert refused.status_code == 400 and Item.objects.count() == 1
    assert AuditEntry.objects.filter(action="bulky.item.updated").exists()


def test_other_departments_staff_are_kept_out(staff_client, day_world):
    road = staff_client("dept_staff", "doro")
    assert road.get(reverse("console:bulky")).status_code == 403
    assert AuditEntry.objects.filter(action="console.access.denied", actor_label="dept_staff-doro").exists()


def test_staff_move_a_callers_booking_to_another_day_of_its_district(gomi, day_world, django_user_model):
    user = django_user_model.objects.get(username="dept_staff-gomi")
    booking = phone_booking(day_world, user, "kita_day")
    later = CollectionDay.objects.create(
        district=day_world["kita"], date=day_world["date"] + timedelta(days=7), capacity=2
    )
    page = gomi.get(reverse("console:bulky"), {"date": day_world["date"].isoformat()}).content.decode()
    move_to = re.search(r'<select name="day".*?</select>', page, re.S)
    assert move_to is not None and f'<option value="{later.pk}">' in move_to.group()
    assert f'value="{day_world["minami_day"].pk}"' not in move_to.group()  # another district's day
    url = reverse("console:bulky_booking_action", kwargs={"booking_id": booking.pk, "action": "move"})
    gomi.post(url, {"day": "x" * 40})  # nonsense moves nothing
    booking.refresh_from_db()
    assert booking.day_id == day_world["kita_day"].pk
    gomi.post(url, {"day": later.pk})
    booking.refresh_from_db()
    later.refresh_from_db()
    assert booking.day_id == later.pk and later.booked == 1
    assert AuditEntry.objects.filter(
        action="bulky.booking.day_changed", actor_label="dept_staff-gomi"
    ).exists()


def test_a_move_is_only_to_an_open_day_of_the_same_district(gomi, day_world, django_user_model):
    user = django_user_model.objects.get(username="dept_staff-gomi")
    booking = phone_booking(day_world, user, "kita_day")
    later = day_world["date"] + timedelta(days=7)
    closed = CollectionDay.objects.create(district=day_world["kita"], date=later, capacity=5, is_open=False)
    past = CollectionDay.objects.create(district=day_world["kita"], date=timezone.localdate(), capacity=5)
    south = day_world["minami_day"]
    url = reverse("console:bulky_booking_action", kwargs={"booking_id": booking.pk, "action": "move"})
    for day, words in (
        (south, "同じ地区の収集日を選んでください"),
        (closed, "受付は締め切りました"),
        (past, "受付は締め切りました"),
    ):
        answer = gomi.post(url, {"day": day.pk}, follow=True)
        assert words in answer.content.decode(), day
        booking.refresh_from_db()
        assert booking.day_id == day_world["kita_day"].pk
    places = dict(CollectionDay.objects.values_list("pk", "booked"))
    assert places == {day_world["kita_day"].pk: 1, south.pk: 0, closed.pk: 0, past.pk: 0}
    assert not AuditEntry.objects.filter(action="bulky.booking.day_changed").exists()


def test_days_in_bulk_skip_holidays_and_the_centres_new_year_closure(gomi, day_world):
    import jpholiday

    from madoguchi.garbage.models import Area, Center, DistrictArea

    year = timezone.localdate().year + 1
    centre = Center.objects.create(
        name="東部クリーンセンター", closed_from=date(year - 1, 12, 29), closed_until=date(year, 1, 3)
    )
    DistrictArea.objects.create(
        district=day_world["kita"], area=Area.objects.create(name="北ブロック", slug="north", center=centre)
    )
    start, end = date(year - 1, 12, 20), date(year, 1, 20)
    answer = gomi.post(
        reverse("console:bulky_days"),
        {
            "districts": [day_world["kita"].pk, day_world["minami"].pk],
            "start": start.isoformat(),
            "end": end.isoformat(),
            "weekdays": [str(n) for n in range(7)],
            "capacity": "12",
        },
        follow=True,
    )
    page = answer.content.decode()
    made = {
        (code, day)
        for code, day in CollectionDay.objects.filter(capacity=12).values_list("district__code", "date")
    }
    new_year, coming_of_age = (
        date(year, 1, 1),
        next(date(year, 1, d) for d in range(8, 15) if date(year, 1, d).weekday() == 0),
    )
    for code in ("kita", "minami"):
        assert (code, new_year) not in made and (code, coming_of_age) not in made
    closed = [date(year - 1, 12, 29) + timedelta(days=n) for n in range(6)]
    assert not any(("kita", day) in made for day in closed)  # the centre is closed
    assert ("minami", date(year - 1, 12, 30)) in made  # a district without that closure
    holidays = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    holidays = [day for day in holidays if jpholiday.is_holiday(day)]
    workdays = (end - start).days + 1 - len(holidays)
    assert len(made) == 2 * workdays - len([d for d in closed if d not in holidays])
    # Staff are told what was left out, and why.
    assert f"収集日を {len(made)} 件作りました。" in page
    assert "祝日のため作らなかった日: 1月1日(" in page
    assert f"{coming_of_age.month}月{coming_of_age.day}日(月)" in page
    assert "清掃センターの休止期間 (年末年始) のため作らなかった日: 12月29日(" in page
    entry = AuditEntry.objects.filter(action="bulky.days.created").latest("pk")
    assert new_year.isoformat() in entry.data["skipped_holidays"]
    assert date(year - 1, 12, 30).isoformat() in entry.data["skipped_closed"]


def test_the_route_orders_house_numbers_by_value(gomi, day_world, django_user_model):
    user = django_user_model.objects.get(username="dept_staff-gomi")
    CollectionDay.objects.filter(pk=day_world["kita_day"].pk).update(capacity=10)
    for address in (
        "北町1丁目10",
        "北町1丁目2",
        "北町1丁目1-10",
        "北町１丁目１-９",
        "南町1丁目3",
        "北町1丁目1-9-2",
    ):
        phone_booking(day_world, user, "kita_day", address=address)
    phone_booking(day_world, user, "minami_day", address="南町1丁目1")
    expected = [
        "北町1丁目1-9",
        "北町1丁目1-9-2",
        "北町1丁目1-10",
        "北町1丁目2",
        "北町1丁目10",
        "南町1丁目3",
        "南町1丁目1",
    ]  # kita, then minami
    page = gomi.get(reverse("console:bulky"), {"date": day_world["date"].isoformat()}).content.decode()
    positions = [page.index(f">{address}<") for address in expected]
    assert positions == sorted(positions)
    exported = gomi.get(
        reverse("console:bulky_export", kwargs={"fmt": "csv"}), {"date": day_world["date"].isoformat()}
    )
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == expected
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(1, 8)]


def test_what_was_left_out_is_said_in_english_too(gomi, day_world, settings):
    year = timezone.localdate().year + 1
    gomi.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = gomi.post(
        reverse("console:bulky_days"),
        {
            "districts": [day_world["minami"].pk],
            "start": date(year, 1, 1).isoformat(),
            "end": date(year, 1, 1).isoformat(),
            "weekdays": [str(n) for n in range(7)],
            "capacity": "5",
        },
        follow=True,
    ).content.decode()
    assert "Not created, national holidays: " in page
