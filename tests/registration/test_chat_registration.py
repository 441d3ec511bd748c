"""Registration in the chat: the same choices as the form, one quick reply at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import postback_data
from madoguchi.core.models import Channel
from madoguchi.residents.models import District, Resident
from tests.conftest import Sim, run_tasks

USER = "U" + "c" * 32


def last(sim: Sim) -> dict[str, Any]:
    return sim.messages(USER)[-1]


def chips(message: dict[str, Any]) -> list[str]:
    return [item["action"]["label"] for item in (message.get("quickReply") or {}).get("items", [])]


def tap(sim: Sim, label: str, **params: str) -> dict[str, Any]:
    """Taps a quick reply of the last message, as the LINE app would, and returns the answer."""
    items = last(sim)["quickReply"]["items"]
    action = next(item["action"] for item in items if item["action"]["label"] == label)
    if action["type"] == "message":
        sim.text(USER, action["text"])
    else:
        event: dict[str, Any] = {"data": action["data"]}
        if action["type"] == "datetimepicker":
            event["params"] = params
        sim.send(USER, {"type": "postback", "postback": event})
    run_tasks()
    return last(sim)


def start(sim: Sim, how: str = "postback") -> dict[str, Any]:
    if how == "postback":
        sim.send(USER, {"type": "postback", "postback": {"data": postback_data("profile.start")}})
    else:
        sim.text(USER, how)
    run_tasks()
    return last(sim)


@pytest.fixture
def resident(sim: Sim, liff_channel: Channel) -> None:
    sim.send(USER, {"type": "follow"})
    run_tasks()


def test_a_resident_registers_in_the_chat_with_one_tap_per_question(sim: Sim, resident: None):
    answer = start(sim)
    assert "登録を始めます" in answer["text"] and "利用規約" in answer["text"]
    assert chips(answer) == ["同意する", "同意しない"]
    answer = tap(sim, "同意する")
    assert "あてはまるものを選んでください" in answer["text"]
    assert chips(answer)[:3] == ["市民", "観光で訪れる方", "移住を検討中の方"]
    answer = tap(sim, "市民")
    assert "お住まいの地区" in answer["text"] and "北地区" in chips(answer)
    answer = tap(sim, "北地区")
    assert "年代" in answer["text"]
    answer = tap(sim, "70歳以上")
    assert "いくつでも選べます" in answer["text"] and "完了" in chips(answer)
    answer = tap(sim, "防災")
    assert "✓ 防災" in chips(answer)
    tap(sim, "ごみ")
    answer = tap(sim, "✓ 防災")  # a second tap takes it back
    assert "防災" in chips(answer) and "✓ ごみ" in chips(answer)
    answer = tap(sim, "完了")
    assert "言語" in answer["text"] and "English" in chips(answer)
    answer = tap(sim, "日本語")
    assert "お子さまの生年月日" in answer["text"]
    birthdate = (timezone.localdate() - timedelta(days=400)).isoformat()
    answer = tap(sim, "生年月日を選ぶ", date=birthdate)
    assert "登録するお子さまの生年月日" in answer["text"] and "もう一人追加" in chips(answer)
    answer = tap(sim, "完了")
    assert answer["text"].startswith("登録しました")
    assert "北地区" in answer["text"] and "ごみ" in answer["text"]

    resident = Resident.objects.get(line_user_id=USER)
    assert resident.audience == "resident" and resident.district.code == "kita"
    assert resident.age_band == "70plus" and resident.language == "ja"
    assert [i.code for i in resident.interests.all()] == ["gomi"]
    assert [c.birthdate.isoformat() for c in resident.children.all()] == [birthdate]
    assert [t.name for t in resident.tags.all()] == ["子育て世帯"]
    assert not FlowState.objects.exists()


def test_typed_words_start_it_and_changing_keeps_what_was_there(sim: Sim, resident: None):
    start(sim, "登録")
    for label in ("同意する", "観光で訪れる方"):
        answer = tap(sim, label)
    # A visitor has no district: straight to the age band.
    assert "年代" in answer["text"]
    for label in ("答えない", "完了", "English"):
        answer = tap(sim, label)
    assert "children" in answer["text"] or "date of birth" in answer["text"]  # now in English
    answer = tap(sim, "Skip")
    assert answer["text"].startswith("Registered")

    answer = start(sim, "登録変更")
    assert "Let's change your registration" in answer["text"]  # consented already: no terms again
    assert "Keep" in chips(answer) and "Registered now: Tourists" in answer["text"]
    answer = tap(sim, "Keep")
    assert "How old" in answer["text"]
    resident = Resident.objects.get(line_user_id=USER)
    assert resident.audience == "tourist" and resident.district is None and resident.language == "en"


def test_a_typed_choice_counts_and_anything_else_asks_again(sim: Sim, resident: None):
    start(sim)
    tap(sim, "同意する")
    sim.text(USER, "市民")
    run_tasks()
    assert "お住まいの地区" in last(sim)["text"]
    sim.text(USER, "わからない")
    run_tasks()
    assert last(sim)["text"].startswith("下のボタンから選んでください")
    assert "北地区" in chips(last(sim))


def test_a_button_of_an_earlier_question_is_answered_not_obeyed(sim: Sim, resident: None):
    start(sim)
    tap(sim, "同意する")
    old = last(sim)["quickReply"]["items"][0]["action"]["data"]  # 市民 on the audience question
    tap(sim, "観光で訪れる方")
    sim.send(USER, {"type": "postback", "postback": {"data": old}})
    run_tasks()
    assert last(sim)["text"].startswith("前の質問のボタンです")
    assert FlowState.objects.get().data["audience"] == "tourist"


def test_declining_the_terms_or_cancelling_saves_nothing(sim: Sim, resident: None):
    start(sim)
    assert "取りやめました" in tap(sim, "同意しない")["text"]
    start(sim)
    tap(sim, "同意する")
    tap(sim, "市民")
    assert tap(sim, "やめる")["text"] == "手続きを中止しました。"
    assert Resident.objects.get(line_user_id=USER).registered_at is None
    sim.send(
        USER,
        {
            "type": "postback",
            "postback": {"data": postback_data("profile.answer", s="audience", v="resident")},
        },
    )
    run_tasks()
    assert "受け付けは終わっています" in last(sim)["text"]


@pytest.mark.parametrize("picked", ["2999-01-01", "1900-01-01", "not-a-date", "2020-02-30"])
def test_an_impossible_birthdate_is_asked_again(sim: Sim, resident: None, picked: str):
    start(sim)
    for label in ("同意する", "答えない", "答えない", "答えない", "完了", "日本語"):
        tap(sim, label)
    answer = tap(sim, "生年月日を選ぶ", date=picked)
    assert answer["text"].startswith("お子さまの生年月日を確かめて")
    assert FlowState.objects.get().data["children"] == []


def test_hostile_postbacks_change_nothing(sim: Sim, resident: None):
    start(sim)
    tap(sim, "同意する")
    for value in ["x" * 5000, "../../", "=done", "admin", ""]:
        data = postback_data("profile.answer", s="audience", v=value)[:300]
        sim.send(USER, {"type": "postback", "postback": {"data": data}})
    run_tasks()
    assert FlowState.objects.get().step == "audience"
    assert Resident.objects.get(line_user_id=USER).registered_at is None


def test_many_districts_are_offered_page_by_page(sim: Sim, resident: None):
    for number in range(20):
        District.objects.create(code=f"d{number}", name=f"第{number}地区", sort_order=100 + number)
    start(sim)
    tap(sim, "同意する")
    answer = tap(sim, "市民")
    assert len(chips(answer)) <= 13 and "ほかの選択肢" in chips(answer)
    seen = set(chips(answer))
    for _page in range(3):
        answer = tap(sim, "ほかの選択肢")
        assert len(chips(answer)) <= 13
        seen |= set(chips(answer))
    assert {"第19地区", "北地区"} <= seen


def test_the_welcome_offers_registration_by_form_and_by_chat(sim: Sim, liff_channel: Channel):
    sim.send(USER, {"type": "follow"})
    run_tasks()
    greeting, invitation = sim.messages(USER)
    assert "友だち追加ありがとうございます" in greeting["text"]
    template = invitation["template"]
    assert invitation["type"] == "template" and "登録すると" in template["text"]
    form, chat = template["actions"]
    assert form == {
        "type": "uri",
        "label": "登録する",
        "uri": "https://liff.line.me/2000000101-testliff/register/?channel=main",
    }
    assert chat["data"] == "a=profile.start"
    assert "職員と話す" in chips(invitation)  # the menu chips stay with the last message


def test_without_a_liff_app_the_welcome_offers_the_chat(sim: Sim, channel: Channel):
    sim.send(USER, {"type": "follow"})
    run_tasks()
    _greeting, invitation = sim.messages(USER)
    [chat] = invitation["template"]["actions"]
    assert chat == {"type": "postback", "label": "登録する", "data": "a=profile.start", "displayText": "登録"}


def test_liff_urls_name_the_channel():
    channel = Channel(slug="bus", liff_id="1600000001-abcd")
    assert channel.liff_url("register/") == "https://liff.line.me/1600000001-abcd/register/?channel=bus"
    assert channel.liff_url("/booking/?item=sofa") == (
        "https://liff.line.me/1600000001-abcd/booking/?item=sofa&channel=bus"
    )
    assert Channel(slug="main").liff_url("register/") is None


def test_following_again_keeps_the_language_chosen_at_registration(sim: Sim, resident: None):
    start(sim)
    for label in ("同意する", "答えない", "答えない", "答えない", "完了", "English", "Skip"):
        tap(sim, label)
    assert Resident.objects.get(line_user_id=USER).language == "en"
    sim.set_profile(USER, language="ja")
    sim.send(USER, {"type": "unfollow"})
    sim.send(USER, {"type": "follow"})
    run_tasks()
    assert Resident.objects.get(line_user_id=USER).language == "en"
    assert last(sim)["altText"] == "Registration"  # the invitation, in the chosen language
