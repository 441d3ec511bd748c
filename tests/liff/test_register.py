"""The registration page: a resident signed in with LINE registers, edits, and is told plainly
what is wrong; hostile input saves nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.core.models import AuditEntry, Channel
from madoguchi.residents.models import District, Interest, Resident
from tests.conftest import LOGIN_CHANNEL_ID, Sim, run_tasks, wait_for
from tests.liff.test_session import USER, client, sign_in


@pytest.fixture
def browser(sim: Sim, liff_channel: Channel) -> Client:
    browser = client()
    assert sign_in(browser, sim.id_token(USER, LOGIN_CHANNEL_ID)).status_code == 200
    return browser


@pytest.fixture
def friend(sim: Sim, liff_channel: Channel) -> None:
    """The resident follows the channel first, so the bot's confirmation is delivered."""
    sim.set_profile(USER, displayName="みどり 花子")
    sim.send(USER, {"type": "follow"})
    run_tasks()


def post(browser: Client, data: dict[str, Any], path: str = "/liff/register/") -> Any:
    return browser.post(path, data, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)


def checked(page: str) -> set[tuple[str, str]]:
    """The choices a page shows ticked, as (field, value)."""
    inputs = re.findall(r"<input [^>]*>", page)
    return {
        (re.search(r'name="(\w+)"', tag).group(1), (re.search(r'value="([^"]*)"', tag) or ["", "on"])[1])
        for tag in inputs
        if " checked" in tag
    }


def form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "consent": "on",
        "audience": "resident",
        "district": District.objects.get(code="kita").pk,
        "age_band": "70plus",
        "interests": [Interest.objects.get(code="bousai").pk, Interest.objects.get(code="gomi").pk],
        "language": "ja",
        "child": ["2020-04-01", ""],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_resident_registers_and_the_bot_confirms_in_line(friend: None, browser: Client, sim: Sim):
    answer = post(browser, form())
    assert answer.status_code == 302 and answer["Location"] == "/liff/register/done/?lang=ja"
    resident = Resident.objects.get(line_user_id=USER)
    assert resident.audience == "resident" and resident.district.code == "kita"
    assert resident.age_band == "70plus" and resident.language == "ja"
    assert sorted(i.code for i in resident.interests.all()) == ["bousai", "gomi"]
    assert [str(c.birthdate) for c in resident.children.all()] == ["2020-04-01"]
    assert resident.terms_version == "2026-04" and resident.registered_at is not None
    # The behaviour tag: registering a child's birthdate.
    assert [t.name for t in resident.tags.all()] == ["子育て世帯"]
    assert AuditEntry.objects.filter(
        action="residents.resident.registered", object_id=str(resident.pk)
    ).exists()

    done = browser.get(answer["Location"]).content.decode()
    assert "登録しました" in done and "北地区" in done and "防災、ごみ" in done

    run_tasks()
    pushed = wait_for(lambda: [m for m in sim.messages(USER) if m["via"] == "push"], what="the confirmation")
    assert "登録しました" in pushed[-1]["text"] and "北地区" in pushed[-1]["text"]


def test_the_same_page_edits_what_is_registered(browser: Client):
    post(browser, form())
    page = browser.get("/liff/register/").content.decode()
    interests = Interest.objects.filter(code__in=["bousai", "gomi"]).order_by("pk")
    assert checked(page) == {
        ("audience", "resident"),
        ("district", str(District.objects.get(code="kita").pk)),
        ("age_band", "70plus"),
        *(("interests", str(interest.pk)) for interest in interests),
        ("language", "ja"),
        ("consent", "on"),
    }
    assert 'value="2020-04-01"' in page and "変更を保存する" in page

    post(browser, form(child=[""], interests=[], audience="tourist"))
    resident = Resident.objects.get(line_user_id=USER)
    assert resident.audience == "tourist" and resident.district is None  # visitors have no district
    assert not resident.interests.exists() and not resident.children.exists()
    assert not resident.tags.exists()  # no child registered any more: the behaviour tag goes


def test_without_consent_nothing_is_saved_and_the_page_says_why(browser: Client):
    answer = post(browser, form(consent=None))
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "入力を確かめてください" in page and "利用規約への同意が必要です" in page
    assert ("age_band", "70plus") in checked(page)  # what was chosen stays chosen
    assert Resident.objects.get(line_user_id=USER).registered_at is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"district": 999_999}, "選び直してください"),
        ({"district": "kita"}, "選び直してください"),
        ({"interests": [999_999]}, "選び直してください"),
        ({"age_band": "200s"}, "選び直してください"),
        ({"audience": "admin"}, "選び直してください"),
        ({"language": "xx"}, "選び直してください"),
        (
            {"child": [(timezone.localdate() + timedelta(days=1)).isoformat()]},
            "これから先の日付は入れられません",
        ),
        ({"child": ["1990-01-01"]}, "生年月日を確かめてください"),
        ({"child": ["2020-02-30"]}, "例のように入れてください"),
        ({"child": ["令和2年4月1日"]}, "例のように入れてください"),
        ({"child": ["2020-01-01"] * 11}, "10 人まで"),
    ],
)
def test_choices_not_offered_are_refused_in_japanese(browser: Client, changes: dict[str, Any], message: str):
    answer = post(browser, form(**changes))
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert Resident.objects.get(line_user_id=USER).registered_at is None


def test_five_thousand_characters_in_every_field_save_nothing(browser: Client):
    long = "あ" * 5000
    answer = post(
        browser,
        {
            "consent": long,
            "audience": long,
            "district": long,
            "age_band": long,
            "interests": [long],
            "language": long,
            "child": [long],
            "lang": long,
        },
    )
    assert answer.status_code == 400
    assert "入力を確かめてください" in answer.content.decode()
    assert Resident.objects.get(line_user_id=USER).registered_at is None


def test_a_post_without_the_csrf_token_is_refused_plainly(browser: Client):
    answer = browser.post("/liff/register/", form())
    assert answer.status_code == 403
    assert "もう一度開いてください" in answer.content.decode()
    assert Resident.objects.get(line_user_id=USER).registered_at is None


def test_a_post_without_a_session_saves_nothing(liff_channel: Channel):
    stranger = client()
    stranger.get("/liff/register/")
    answer = stranger.post("/liff/register/", form(), HTTP_X_CSRFTOKEN=stranger.cookies["csrftoken"].value)
    assert answer.status_code == 403
    assert "もう一度開いてください" in answer.content.decode()
    assert not Resident.objects.filter(registered_at__isnull=False).exists()


def test_the_page_speaks_the_residents_language(friend: None, browser: Client, sim: Sim):
    post(browser, form(language="en"))
    page = browser.get("/liff/register/").content.decode()
    assert '<html lang="en">' in page and "Kita" in page and "Save changes" in page
    easy = browser.get("/liff/register/?lang=ja-easy").content.decode()
    assert '<html lang="ja">' in easy and "とうろく" in easy
    run_tasks()
    pushed = wait_for(lambda: [m for m in sim.messages(USER) if m["via"] == "push"], what="the confirmation")
    assert "Registered" in pushed[-1]["text"] and "Kita" in pushed[-1]["text"]


def test_the_terms_page_shows_the_version(liff_channel: Channel, settings):
    settings.MADOGUCHI_TERMS_VERSION = "2027-01"
    page = client().get("/liff/terms/").content.decode()
    assert "利用規約" in page and "2027-01" in page


def test_a_new_terms_version_asks_for_consent_again(browser: Client, settings):
    post(browser, form())
    assert ("consent", "on") in checked(browser.get("/liff/register/").content.decode())
    settings.MADOGUCHI_TERMS_VERSION = "2027-01"
    assert ("consent", "on") not in checked(browser.get("/liff/register/").content.decode())
