"""The public iCalendar feed: RFC 5545 by hand (no parser is installed), per area or district."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.garbage.ical import Event, calendar, escape, fold
from madoguchi.garbage.models import Item
from tests.garbage.conftest import Town


def unfold(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", "")  # bare LF nowhere
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_lines_fold_at_75_octets_without_splitting_characters():
    line = "SUMMARY:" + "燃やすごみ" * 30
    folded = fold(line)
    physical = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert folded.replace("\r\n ", "") == line
    assert fold("short") == "short"


def test_text_is_escaped():
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_a_calendar_has_the_required_properties():
    body = calendar(
        [Event("1@x", date(2024, 12, 31), "燃やすごみ", "袋に入れて, 朝8時半まで")],
        name="テスト",
        stamp=datetime(2024, 12, 1, 9, 0, tzinfo=UTC),
        prodid="-//Madoguchi//garbage//JA",
    )
    lines = unfold(body)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and "PRODID:-//Madoguchi//garbage//JA" in lines
    event = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT") + 1]
    assert "UID:1@x" in event and "DTSTAMP:20241201T090000Z" in event
    assert "DTSTART;VALUE=DATE:20241231" in event and "DTEND;VALUE=DATE:20250101" in event
    assert "DESCRIPTION:袋に入れて\\, 朝8時半まで" in event


@pytest.mark.django_db
def test_the_feed_of_an_area_lists_a_year_of_collections(town: Town):
    response = Client().get("/garbage/calendar/north.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    lines = unfold(response.content.decode())
    starts = [line.split(":")[1] for line in lines if line.startswith("DTSTART")]
    assert len(starts) >= 2 * 52  # two weekly categories for a year (holidays collected)
    today = timezone.localdate()
    assert max(starts) >= (today + timedelta(days=360)).strftime("%Y%m%d")
    uids = [line for line in lines if line.startswith("UID:")]
    assert len(uids) == len(set(uids)) == len(starts)
    assert all(re.fullmatch(r"UID:\d{8}-\d+-north@garbage\.madoguchi", uid) for uid in uids)
    assert len([line for line in lines if line.startswith("DTSTAMP:")]) == len(starts)
    assert "SUMMARY:燃やすごみ" in lines and any("北ブロック" in line for line in lines)
    # Nothing about residents, and the same feed again has the same UIDs (subscribers update).
    again = unfold(Client().get("/garbage/calendar/north.ics").content.decode())
    assert [line for line in again if line.startswith("UID:")] == uids


@pytest.mark.django_db
def test_the_feed_is_also_reached_by_district_code_and_shows_the_credit(town: Town):
    body = Client().get("/garbage/calendar/kita.ics").content.decode()
    assert "北ブロック" in body
    assert Item.objects.filter(source="5374").exists()
    assert "金沢市オープンデータ" in body.replace("\r\n ", "")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["nowhere.ics", "..%2F..%2Fetc.ics", "a" * 60 + ".ics", "north.ics%00"])
def test_unknown_or_hostile_slugs_are_404(town: Town, path: str):
    assert Client().get("/garbage/calendar/" + path).status_code == 404


@pytest.mark.django_db
def test_post_is_refused(town: Town):
    assert Client().post("/garbage/calendar/north.ics").status_code == 405
