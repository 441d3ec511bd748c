"""The 粗大ごみ booking pages: a resident signed in with LINE books (review, then booked), the bot
confirms in the chat, and the resident changes or cancels; hostile input books nothing, and
someone else's booking number opens nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.bulky.models import Booking, CollectionDay, Item, SavedAddress
from madoguchi.core.models import Channel
from madoguchi.residents.models import District, Resident
from tests.conftest import LOGIN_CHANNEL_ID, Sim, run_tasks, wait_for
from tests.liff.test_session import USER, client, sign_in

OTHER_USER = "U" + "c" * 32


@pytest.fixture
def world(liff_channel: Channel) -> dict[str, Any]:
    kita, minami = District.objects.get(code="kita"), District.objects.get(code="minami")
    today = timezone.localdate()
    return {
        "chair": Item.objects.create(name="いす", fee=400, names_by_language={"en": "Chair"}),
        "sofa": Item.objects.create(name="ソファー", fee=800, sort_order=1),
        "day": CollectionDay.objects.create(district=kita, date=today + timedelta(days=10), capacity=3),
        "later": CollectionDay.objects.create(district=kita, date=today + timedelta(days=17), capacity=3),
        "south": CollectionDay.objects.create(district=minami, date=today + timedelta(days=11), capacity=3),
        "kita": kita,
    }


@pytest.fixture
def friend(sim: Sim, liff_channel: Channel) -> None:
    sim.set_profile(USER, displayName="みどり 花子")
    sim.send(USER, {"type": "follow"})
    run_tasks()
    Resident.objects.filter(line_user_id=USER).update(district=District.objects.get(code="kita"))


def signed_in(sim: Sim, user: str = USER) -> Client:
    browser = client()
    assert sign_in(browser, sim.id_token(user, LOGIN_CHANNEL_ID)).status_code == 200
    return browser


def post(browser: Client, path: str, data: dict[str, Any]) -> Any:
    return browser.post(path, data, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)


def order(world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        f"qty-{world['chair'].pk}": "2",
        f"qty-{world['sofa'].pk}": "1",
        "district": world["kita"].pk,
        "day": world["day"].pk,
        "name": "みどり 花子",
        "address": "みどり市北町1-2-3",
        "phone": "045-123-4567",
        "keep_address": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def book(browser: Client, data: dict[str, Any]) -> Any:
    review = post(browser, "/liff/bulky/", {**data, "step": "review"})
    assert review.status_code == 200, review.content.decode()[:2000]
    return post(browser, "/liff/bulky/", {**data, "step": "book"})


def test_a_resident_books_reviews_the_fee_and_the_bot_confirms_in_line(friend, world, sim: Sim):
    browser = signed_in(sim)
    page = browser.get("/liff/bulky/").content.decode()
    # The district comes from the registration; its open days are offered, with the fees.
    assert re.search(rf'value="{world["kita"].pk}"[^>]*checked', page)
    assert f'name="day" value="{world["day"].pk}"' in page
    assert f'name="day" value="{world["south"].pk}"' not in page
    assert "400円" in page and "800円" in page

    review = post(browser, "/liff/bulky/", {**order(world), "step": "review"}).content.decode()
    assert "1,600円" in review
    assert not Booking.objects.exists()  # nothing is booked before the resident confirms

    done = post(browser, "/liff/bulky/", {**order(world), "step": "book"})
    booking = Booking.objects.get()
    assert done.status_code == 302 and done["Location"].startswith(f"/liff/bulky/b/{booking.number}/")
    assert booking.fee_total == 1600 and booking.resident.line_user_id == USER
    assert SavedAddress.objects.get().address == "みどり市北町1-2-3"
    assert booking.number in browser.get(done["Location"]).content.decode()

    run_tasks()
    pushed = wait_for(lambda: [m for m in sim.messages(USER) if m["via"] == "push"], what="the confirmation")
    text = pushed[-1]["text"]
    assert booking.number in text and "1,600円" in text and "いす ×2、ソファー ×1" in text
    assert "処理券を購入し、収集日の朝8時までに出してください。" in text

    # The next booking offers the saved address again.
    again = browser.get("/liff/bulky/").content.decode()
    assert 'value="みどり市北町1-2-3"' in again and 'value="045-123-4567"' in again


def test_change_and_cancel_from_my_bookings(friend, world, sim: Sim):
    browser = signed_in(sim)
    book(browser, order(world))
    booking = Booking.objects.get()
    mine = browser.get("/liff/bulky/mine/").content.decode()
    assert booking.number in mine
    detail = browser.get(f"/liff/bulky/b/{booking.number}/").content.decode()
    assert f'name="day" value="{world["later"].pk}"' in detail
    moved = post(browser, f"/liff/bulky/b/{booking.number}/change/", {"day": world["later"].pk})
    assert moved.status_code == 302
    booking.refresh_from_db()
    assert booking.day_id == world["later"].pk
    assert [
        d.booked
        for d in CollectionDay.objects.filter(pk__in=[world["day"].pk, world["later"].pk]).order_by("date")
    ] == [0, 1]
    # Another district's day is not a day to move to.
    refused = post(browser, f"/liff/bulky/b/{booking.number}/change/", {"day": world["south"].pk})
    assert refused.status_code == 409 and "収集日を選んでください" in refused.content.decode()
    assert post(browser, f"/liff/bulky/b/{booking.number}/cancel/", {}).status_code == 302
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    run_tasks()
    texts = [m.get("text", "") for m in sim.messages(USER) if m["via"] == "push"]
    assert any("収集日を変更しました" in t for t in texts) and any("予約を取り消しました" in t for t in texts)


def test_someone_elses_booking_number_opens_nothing(friend, world, sim: Sim):
    book(signed_in(sim), order(world))
    booking = Booking.objects.get()
    stranger = signed_in(sim, OTHER_USER)
    assert stranger.get(f"/liff/bulky/b/{booking.number}/").status_code == 404
    assert post(stranger, f"/liff/bulky/b/{booking.number}/cancel/", {}).status_code == 404
    assert booking.number not in stranger.get("/liff/bulky/mine/").content.decode()
    booking.refresh_from_db()
    assert booking.status == "confirmed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qty-CHAIR": "0", "qty-SOFA": "0"}, "1 つ以上"),
        ({"qty-CHAIR": "-3"}, "数量を確かめて"),
        ({"qty-CHAIR": "9999"}, "数量を確かめて"),
        ({"qty-CHAIR": "1e3"}, "数量を確かめて"),
        ({"qty-CHAIR": "10", "qty-SOFA": "5"}, "10 点まで"),
        ({"day": "SOUTH"}, "収集日を選んでください"),
        ({"day": "99999999999999999999"}, "選び直してください"),
        ({"day": "1; DROP TABLE bulky_booking"}, "選び直してください"),
        ({"district": "abc"}, "選び直してください"),
        ({"phone": '=HYPERLINK("http://evil")'}, "電話番号"),
        ({"phone": "090-1234-5678" * 3}, "20 文字以内"),
        ({"address": "あ" * 5000}, "200 文字以内"),
        ({"name": ""}, "お名前を入れてください"),
    ],
)
def test_hostile_input_books_nothing_and_keeps_what_was_typed(friend, world, sim: Sim, changes, message):
    browser = signed_in(sim)
    ids = {"CHAIR": world["chair"].pk, "SOFA": world["sofa"].pk, "SOUTH": world["south"].pk}
    data = order(world)
    for key, value in changes.items():
        for marker, pk in ids.items():
            key, value = key.replace(marker, str(pk)), value.replace(marker, str(pk))
        data[key] = value
    answer = post(browser, "/liff/bulky/", {**data, "step": "book"})
    page = answer.content.decode()
    assert answer.status_code == 400 and message in page
    assert 'value="みどり市北町1-2-3"' in page or "address" in changes
    assert not Booking.objects.exists()


def test_injection_looking_text_is_kept_as_text_and_escaped(friend, world, sim: Sim):
    browser = signed_in(sim)
    book(browser, order(world, name="<script>alert(1)</script>", address="北町1-2 '; DROP TABLE x;--"))
    booking = Booking.objects.get()
    assert booking.name == "<script>alert(1)</script>"
    page = browser.get(f"/liff/bulky/b/{booking.number}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "DROP TABLE x" in page


def test_the_last_place_taken_meanwhile_is_said_plainly(friend, world, sim: Sim):
    browser = signed_in(sim)
    post(browser, "/liff/bulky/", {**order(world), "step": "review"})
    CollectionDay.objects.filter(pk=world["day"].pk).update(booked=3)
    answer = post(browser, "/liff/bulky/", {**order(world), "step": "book"})
    assert answer.status_code == 400 and "収集日を選んでください" in answer.content.decode()
    assert not Booking.objects.exists()


def test_without_a_session_nothing_is_booked(world, liff_channel: Channel):
    browser = client()
    page = browser.get("/liff/bulky/?channel=main")
    assert page.status_code == 200 and 'id="signin"' in page.content.decode()
    refused = browser.post("/liff/bulky/", {**order(world), "step": "book"})
    assert refused.status_code == 403 and not Booking.objects.exists()


def test_the_pages_speak_english(friend, world, sim: Sim):
    Resident.objects.filter(line_user_id=USER).update(language="en")
    browser = signed_in(sim)
    page = browser.get("/liff/bulky/").content.decode()
    assert "Book a bulky waste collection" in page and "Chair" in page and "Kita" in page
    book(browser, order(world))
    run_tasks()
    text = [m for m in sim.messages(USER) if m["via"] == "push"][-1]["text"]
    assert text.startswith("Your bulky waste collection is booked.")
    assert "Items: Chair ×2, ソファー ×1" in text and "Fee: ¥1,600" in text and "by 8:00" in text


def test_the_page_in_easy_japanese(friend, world, sim: Sim):
    page = signed_in(sim).get("/liff/bulky/?lang=ja-easy").content.decode()
    assert "おおきい ごみ（そだいごみ）の もうしこみ" in page and "つぎも つかう" in page


def test_the_reminder_reaches_the_chat_the_day_before_once(friend, world, sim: Sim, settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from madoguchi.bulky.services import reminders_send_due

    book(signed_in(sim), order(world))
    run_tasks()
    booking = Booking.objects.get()
    eve = datetime.combine(booking.day.date - timedelta(days=1), datetime.min.time(), ZoneInfo("Asia/Tokyo"))
    assert reminders_send_due(eve + timedelta(hours=settings.BULKY_REMINDER_HOUR, minutes=5)) == 1
    assert reminders_send_due(eve + timedelta(hours=settings.BULKY_REMINDER_HOUR, minutes=20)) == 0
    run_tasks()
    pushed = [m["text"] for m in sim.messages(USER) if m["via"] == "push"]
    assert pushed[-1].startswith("明日は粗大ごみの収集日です。") and booking.number in pushed[-1]
    assert sum("明日は粗大ごみ" in text for text in pushed) == 1


def test_behind_the_tls_proxy_the_audit_log_keeps_the_residents_address(friend, world, sim: Sim, settings):
    from madoguchi.core.models import AuditEntry

    settings.MADOGUCHI_BEHIND_TLS_PROXY = True
    # The proxy is REMOTE_ADDR; the client is the last X-Forwarded-For entry (the proxy's own).
    browser = client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.7")
    assert sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID)).status_code == 200
    book(browser, order(world))
    booking = Booking.objects.get()
    assert AuditEntry.objects.get(action="bulky.booking.created").ip_address == "198.51.100.7"
    post(browser, f"/liff/bulky/b/{booking.number}/change/", {"day": world["later"].pk})
    post(browser, f"/liff/bulky/b/{booking.number}/cancel/", {})
    for action in ("bulky.booking.day_changed", "bulky.booking.cancelled"):
        assert AuditEntry.objects.get(action=action).ip_address == "198.51.100.7"


def test_after_the_cut_off_the_resident_can_neither_change_nor_cancel(friend, world, sim: Sim):
    browser = signed_in(sim)
    book(browser, order(world))
    booking = Booking.objects.get()
    # The collection is now two days away: past the cut-off (three days before).
    soon = CollectionDay.objects.create(
        district=world["kita"], date=timezone.localdate() + timedelta(days=2), capacity=3, booked=1
    )
    Booking.objects.filter(pk=booking.pk).update(day=soon)
    CollectionDay.objects.filter(pk=world["day"].pk).update(booked=0)
    detail = browser.get(f"/liff/bulky/b/{booking.number}/").content.decode()
    assert f'name="day" value="{world["later"].pk}"' not in detail  # no longer offered
    for path, data in (("change", {"day": world["later"].pk}), ("cancel", {})):
        refused = post(browser, f"/liff/bulky/b/{booking.number}/{path}/", data)
        page = refused.content.decode()
        assert refused.status_code == 409
        assert "変更・取り消しの締め切りを過ぎました。粗大ごみ受付センターに電話でご相談ください。" in page
    booking.refresh_from_db()
    assert booking.day_id == soon.pk and booking.status == "confirmed"
    assert [d.booked for d in CollectionDay.objects.filter(pk__in=[soon.pk, world["later"].pk])] == [1, 0]


def test_the_service_refusing_after_the_form_passed_is_a_409_that_keeps_the_form(friend, world, sim: Sim):
    """The form saw a place left; by the time the booking takes it, another resident has: the
    service refuses, and the page says so with everything typed still there."""
    from django.db import connection

    browser = signed_in(sim)
    day = world["day"]
    post(browser, "/liff/bulky/", {**order(world), "step": "review"})

    def another_resident_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Just before this booking's conditional UPDATE, the last places go (as a booking
        # committed by another resident's request would have taken them).
        if sql.startswith('UPDATE "bulky_collectionday" SET "booked" = ("bulky_collectionday"."booked" + '):
            context["cursor"].execute(
                'UPDATE "bulky_collectionday" SET "booked" = "capacity" WHERE "id" = %s', [day.pk]
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(another_resident_first):
        answer = post(browser, "/liff/bulky/", {**order(world), "step": "book"})
    page = answer.content.decode()
    assert answer.status_code == 409
    assert "この日は予約がいっぱいになりました。別の日を選んでください。" in page
    assert 'value="みどり市北町1-2-3"' in page and 'value="045-123-4567"' in page
    assert not Booking.objects.exists()  # nothing half-made: the booking rolled back with its place
    run_tasks()
    assert [m for m in sim.messages(USER) if m["via"] == "push"] == []  # and no confirmation


def test_booking_the_same_day_twice_is_a_409_with_a_plain_message(friend, world, sim: Sim):
    browser = signed_in(sim)
    first = book(browser, order(world))
    assert first.status_code == 302
    # A second tab: the form passes (the day has places), the service refuses the second booking.
    again = book(browser, order(world, **{f"qty-{world['sofa'].pk}": "0"}))
    assert again.status_code == 409
    assert "この日には、すでに予約があります。" in again.content.decode()
    assert Booking.objects.count() == 1
    assert CollectionDay.objects.get(pk=world["day"].pk).booked == 1
