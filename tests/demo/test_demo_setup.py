"""The demo city sets itself up, twice without harm, with a working login for every role."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import StaffProfile
from madoguchi.bulky.models import Booking, CollectionDay
from madoguchi.bulky.models import Item as BulkyItem
from madoguchi.bulky.selectors import days_open
from madoguchi.core.models import Channel
from madoguchi.demo.setup import DEMO_STAFF, demo_setup
from madoguchi.faq.models import FaqEntry
from madoguchi.garbage.models import Area as GarbageArea
from madoguchi.garbage.models import DistrictArea
from madoguchi.garbage.models import Item as GarbageItem
from madoguchi.inbox.models import CannedReply
from madoguchi.reports.models import Category, Report
from madoguchi.scenarios.services import preview_user_id


def test_demo_setup_is_idempotent_and_every_role_can_sign_in(db):
    first = demo_setup()
    second = demo_setup()
    assert first == second
    assert StaffProfile.objects.count() == len(DEMO_STAFF)
    assert {p.user.username for p in StaffProfile.objects.select_related("user")} == {
        u for u, _r, _d in DEMO_STAFF
    }
    assert Channel.objects.get(slug="soudan").is_confidential
    assert not Channel.objects.get(slug="main").is_confidential
    assert (
        Channel.objects.get(slug="main").liff_url("register/")
        == "https://liff.line.me/2000000101-midori/register/?channel=main"
    )
    assert FaqEntry.objects.exists()
    easy = FaqEntry.objects.get(external_id="F018")
    assert easy.answer_in("ja-easy").startswith("マイナンバーカードが あれば")
    # What staff wrote themselves survives the next demo start.
    FaqEntry.objects.filter(pk=easy.pk).update(answers_by_language={"ja-easy": "しょくいんが かいた"})
    demo_setup()
    assert FaqEntry.objects.get(pk=easy.pk).answers_by_language["ja-easy"] == "しょくいんが かいた"
    assert CannedReply.objects.filter(for_counseling=True).exists()
    # Test sends of deliveries go to each demo staff member's own linesim phone.
    pr = StaffProfile.objects.get(user__username="demo-pr")
    assert pr.line_user_id == preview_user_id("demo-pr")
    assert Category.objects.filter(code="road", department__name="道路維持課").exists()
    assert Report.objects.count() == 5 and Report.objects.filter(is_public=True).count() == 1
    # The garbage guide and calendar: Kanazawa's 5374 data, each district served by an area.
    assert GarbageArea.objects.count() == 71 and GarbageItem.objects.filter(source="5374").count() > 1200
    assert DistrictArea.objects.count() == 6
    assert DistrictArea.objects.get(district__code="kita").area.name == "粟崎"
    assert "金沢市オープンデータ" in Client().get("/liff/garbage/?q=スプレー缶").content.decode()
    assert Client().get("/garbage/calendar/kita.ics").status_code == 200
    # A bookable 粗大ごみ catalog: items with fees, open days in every district, the menu's cell.
    assert BulkyItem.objects.filter(is_active=True).count() == 12
    assert set(BulkyItem.objects.values_list("fee", flat=True)) == {400, 800, 1200}
    assert {day.district.code for day in days_open()} == {
        "chuo",
        "kita",
        "minami",
        "higashi",
        "nishi",
        "minato",
    }
    # Each district's weekday for eight weeks, but not on a national holiday nor while its garbage
    # centre is closed (the coming 年末年始).
    import jpholiday

    from madoguchi.garbage.selectors import district_closures

    days = list(CollectionDay.objects.all())
    closures = district_closures({d.district_id for d in days})
    assert closures  # the demo's centres have the coming closure
    assert not any(jpholiday.is_holiday(d.date) for d in days)
    assert not any(first <= d.date <= last for d in days for first, last in closures.get(d.district_id, []))
    assert 6 * 8 - 12 <= len(days) <= 6 * 8
    assert Booking.objects.filter(via="phone").count() == 3  # once, however often the demo starts

    client = Client()
    response = client.post(
        reverse("console:login"), {"username": first.username, "password": first.password}, follow=True
    )
    assert response.status_code == 200
    assert "ダッシュボード" in response.content.decode()
