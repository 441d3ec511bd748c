"""The LIFF page: search without signing in, the calendar of an area, hostile input."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.garbage.conftest import Town

pytestmark = pytest.mark.django_db


def test_search_works_without_signing_in_in_any_spelling(town: Town):
    for query in ("スプレー缶", "すぷれー缶", "ｽﾌﾟﾚｰ缶"):
        response = Client().get("/liff/garbage/", {"q": query})
        assert response.status_code == 200
        body = response.content.decode()
        assert "スプレー缶(スプレー)" in body and "資源" in body, query
        assert "金沢市オープンデータ" in body
        assert response["Cache-Control"] == "no-store"


def test_nothing_found_is_said(town: Town):
    body = Client().get("/liff/garbage/", {"q": "宇宙船"}).content.decode()
    assert "見つかりませんでした" in body


def test_an_area_shows_its_next_two_weeks_and_the_feed(town: Town):
    body = Client().get("/liff/garbage/", {"area": "north"}).content.decode()
    assert body.count("燃やすごみ") >= 2 and "/garbage/calendar/north.ics" in body


@pytest.mark.parametrize(
    "params",
    [
        {"q": "<script>alert(1)</script>"},
        {"q": "x" * 10_000},
        {"q": "' OR 1=1 --"},
        {"area": "../../etc/passwd"},
        {"area": "a" * 500},
        {"q": "\u0000"},
    ],
)
def test_hostile_queries_are_harmless(town: Town, params: dict[str, str]):
    response = Client().get("/liff/garbage/", params)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_a_signed_in_resident_sees_their_own_districts_calendar(town: Town):
    from django.http import HttpResponse

    from madoguchi.core.models import Channel
    from madoguchi.liff.session import COOKIE, session_begin
    from madoguchi.residents.models import District, Resident

    channel = Channel.objects.create(
        slug="main", name="みどり市公式", provider_channel_id="1", channel_secret="s"
    )
    resident = Resident.objects.create(
        channel=channel, line_user_id="U" + "5" * 32, district=District.objects.get(code="minami")
    )
    response = HttpResponse()
    session_begin(response, resident)
    client = Client()
    client.cookies[COOKIE] = response.cookies[COOKIE].value
    body = client.get("/liff/garbage/").content.decode()
    assert "南ブロック" in body and "/garbage/calendar/south.ics" in body
    # A tampered cookie is nobody: the page still works, without a calendar.
    client.cookies[COOKIE] = response.cookies[COOKIE].value[:-2] + "xx"
    body = client.get("/liff/garbage/").content.decode()
    assert "南ブロック" in body.split("<select", 1)[1] and "south.ics" not in body
