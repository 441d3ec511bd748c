"""In the chat, 粗大ごみ 申込 offers the booking page; questions about 粗大ごみ stay with the FAQ."""

from __future__ import annotations

import pytest

from madoguchi.bulky.conversation import _is_command
from madoguchi.core.models import Channel
from tests.conftest import LIFF_ID, Sim, run_tasks

USER = "U" + "9" * 32


@pytest.mark.parametrize(
    "text",
    ["粗大ごみ 申込", "粗大ごみ申し込み", "粗大ゴミの予約", "そだいごみ　よやく", "粗大ごみを予約したい"],
)
def test_short_commands_are_taken(text):
    assert _is_command(text)


@pytest.mark.parametrize(
    "text",
    [
        "粗大ごみ",
        "粗大ごみの手数料はいくらですか",
        "粗大ごみを出したいのですが、どのように申し込めばよいですか。",
        "粗大ごみの申し込みどうすんだよバカ",
        "予約",
        "粗大ごみ 申込" * 40,
    ],
)
def test_questions_and_other_words_are_left_to_the_faq(text):
    assert not _is_command(text)


def test_the_words_answer_with_the_booking_page_and_my_bookings(sim: Sim, liff_channel: Channel):
    sim.send(USER, {"type": "follow"})
    run_tasks()
    sim.text(USER, "粗大ごみ 申込")
    run_tasks()
    card = sim.messages(USER)[-1]
    assert card["type"] == "template" and card["template"]["type"] == "buttons"
    uris = [action["uri"] for action in card["template"]["actions"]]
    assert uris == [
        f"https://liff.line.me/{LIFF_ID}/bulky/?channel=main",
        f"https://liff.line.me/{LIFF_ID}/bulky/mine/?channel=main",
    ]


def test_without_a_liff_app_the_phone_line_is_offered(sim: Sim, channel: Channel):
    sim.send(USER, {"type": "follow"})
    run_tasks()
    sim.text(USER, "粗大ごみ予約")
    run_tasks()
    assert "電話" in sim.messages(USER)[-1]["text"]


def test_with_the_sorting_guide_loaded_the_booking_words_still_offer_the_booking_page(
    sim: Sim, liff_channel: Channel
):
    """The guide (garbage) and the booking (bulky) both listen at the scenario stage: the booking
    words must reach the booking, whatever items the guide holds."""
    from madoguchi.demo.garbage import demo_garbage

    demo_garbage()
    sim.send(USER, {"type": "follow"})
    run_tasks()
    for words in ("粗大ごみ 申込", "粗大ごみを予約したい"):
        sim.text(USER, words)
        run_tasks()
        card = sim.messages(USER)[-1]
        assert card["type"] == "template", words
        assert card["template"]["actions"][0]["uri"].endswith("/bulky/?channel=main")


def test_an_item_for_bulky_waste_in_the_guide_is_one_tap_from_booking(sim: Sim, liff_channel: Channel):
    from madoguchi.demo.garbage import demo_garbage
    from madoguchi.garbage.models import Item as GuideItem

    demo_garbage()
    item = GuideItem.objects.filter(category__name__contains="粗大", is_active=True).order_by("pk").first()
    assert item is not None
    sim.send(USER, {"type": "follow"})
    run_tasks()
    sim.text(USER, item.name)
    run_tasks()
    answer = sim.messages(USER)[-1]
    assert item.category.name in answer["text"]
    chip = answer["quickReply"]["items"][0]["action"]
    assert chip["label"] == "粗大ごみを申し込む"
    sim.send(USER, {"type": "postback", "postback": {"data": chip["data"]}})
    run_tasks()
    assert sim.messages(USER)[-1]["template"]["actions"][0]["uri"].endswith("/bulky/?channel=main")
