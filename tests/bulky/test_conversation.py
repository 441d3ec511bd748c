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
