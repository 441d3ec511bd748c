"""避難所 in the chat, through linesim and the real dispatcher."""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.chatbot.registry import postback_data
from madoguchi.core.models import Channel
from madoguchi.disaster.models import Shelter
from madoguchi.disaster.services import shelter_import
from madoguchi.residents.models import District, Resident
from tests.conftest import Sim, run_tasks
from tests.disaster.conftest import AMAGASAKI, NANAO_CITY_HALL, open_sites

USER = "U" + "7" * 32


def send(sim: Sim, event: dict[str, Any]) -> list[dict[str, Any]]:
    before = len(sim.messages(USER))
    sim.send(USER, event)
    run_tasks()
    return sim.messages(USER)[before:]


def say(sim: Sim, text: str) -> list[dict[str, Any]]:
    return send(sim, {"type": "message", "message": {"type": "text", "text": text}})


def tap(sim: Sim, data: str) -> list[dict[str, Any]]:
    return send(sim, {"type": "postback", "postback": {"data": data}})


def locate(sim: Sim, latitude: float, longitude: float) -> list[dict[str, Any]]:
    message = {
        "type": "location",
        "title": "現在地",
        "address": "",
        "latitude": latitude,
        "longitude": longitude,
    }
    return send(sim, {"type": "message", "message": message})


def chips(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]


@pytest.fixture
def resident(sim: Sim, channel: Channel) -> Resident:
    sim.send(USER, {"type": "follow"})
    run_tasks()
    return Resident.objects.get(line_user_id=USER)


def test_a_resident_asks_for_shelters_sends_a_location_and_gets_the_nearest_open_ones(
    sim: Sim, resident: Resident, nanao
):
    open_sites("七尾市役所(4F)", "山王小学校", "県立七尾城北高等学校")
    [question] = say(sim, "避難所")
    assert "どの災害から避難しますか" in question["text"]
    labels = [action["label"] for action in chips(question)]
    assert labels == [
        "洪水",
        "崖崩れ・土石流・地滑り",
        "高潮",
        "地震",
        "津波",
        "大規模な火事",
        "内水氾濫",
        "火山",
        "やめる",
    ]
    earthquake = next(action for action in chips(question) if action["label"] == "地震")
    [place] = tap(sim, earthquake["data"])
    assert "位置情報を送る" in place["text"]
    assert chips(place)[0] == {"type": "location", "label": "位置情報を送る"}
    text, carousel = locate(sim, *NANAO_CITY_HALL)
    assert text["text"].startswith("地震 に対応した、開設中の避難所です(近い順):")
    assert "1. 山王小学校 (約 590 m)" in text["text"] and "2. 県立七尾城北高等学校 (約 680 m)" in text["text"]
    assert "七尾市役所" not in text["text"]  # open, but a tsunami building only
    assert "出典：石川県・七尾市" in text["text"]
    assert carousel["type"] == "flex" and carousel["contents"]["type"] == "carousel"
    first = carousel["contents"]["contents"][0]
    assert first["body"]["contents"][0]["text"] == "山王小学校"
    shelter = Shelter.objects.get(name="山王小学校")
    button = first["footer"]["contents"][0]["action"]
    assert button == {
        "type": "uri",
        "label": "地図で見る",
        "uri": f"https://www.google.com/maps/search/?api=1&query={shelter.latitude:.6f},{shelter.longitude:.6f}",
    }
    assert [action["label"] for action in chips(carousel)][:2] == ["別の場所で探す", "別の災害で探す"]
    # The flow is over: a later location is not taken as a shelter search.
    assert not resident.flowstate_set.exists() if hasattr(resident, "flowstate_set") else True


def test_when_nothing_is_open_for_the_hazard_the_resident_is_told_so(sim: Sim, resident: Resident, nanao):
    open_sites("七尾市役所(4F)")  # tsunami only
    tap(sim, postback_data("disaster.hazard", h="earthquake"))
    [answer] = locate(sim, *NANAO_CITY_HALL)
    assert (
        "いま開設している 地震 の避難所はありません(対応する避難所 93 か所、うち満員 0 か所)"
        in answer["text"]
    )


def test_an_earthquake_in_a_city_with_no_site_for_it_says_none_are_designated(
    sim: Sim, resident: Resident, db
):
    shelter_import(AMAGASAKI.read_bytes(), AMAGASAKI.name)
    Shelter.objects.update(status="open")
    tap(sim, postback_data("disaster.shelters"))
    tap(sim, postback_data("disaster.hazard", h="earthquake"))
    [answer] = locate(sim, 34.7338, 135.3854)
    assert "地震 に対応した避難所は登録されていません" in answer["text"]
    tap(sim, postback_data("disaster.hazard", h="flood"))
    text, _carousel = locate(sim, 34.7338, 135.3854)
    assert "1. 大島小学校 (約 10 m)" in text["text"]


def test_a_district_can_be_picked_instead_of_a_location(sim: Sim, resident: Resident, nanao):
    district = District.objects.create(code="misogi", name="御祓地区")
    Shelter.objects.filter(community__startswith="御祓地区").update(district=district)
    open_sites("七尾中学校")
    [place] = tap(sim, postback_data("disaster.hazard", h="flood"))
    pick = next(action for action in chips(place) if action["label"] == "御祓地区")
    text, _carousel = tap(sim, pick["data"])
    assert "御祓地区 の洪水 に対応した、開設中の避難所です:" in text["text"]
    assert "1. 七尾中学校" in text["text"] and "約" not in text["text"].split("\n")[1]
    # Typing the district's name works too.
    tap(sim, postback_data("disaster.hazard", h="flood"))
    text, _carousel = say(sim, "御祓地区")
    assert "1. 七尾中学校" in text["text"]


def test_an_unreadable_location_and_stray_words_ask_again(sim: Sim, resident: Resident, nanao):
    tap(sim, postback_data("disaster.hazard", h="flood"))
    answer = locate(sim, 123.0, 500.0)
    assert "位置情報を読み取れませんでした" in answer[0]["text"]
    answer = say(sim, "えーと")
    assert "位置情報か地区で教えてください" in answer[0]["text"]
    [cancelled] = say(sim, "やめる")
    assert "位置情報" not in cancelled.get("text", "")


def test_with_no_shelters_imported_the_bot_says_so(sim: Sim, resident: Resident):
    [answer] = say(sim, "避難所")
    assert "避難所の情報はまだ登録されていません" in answer["text"]
