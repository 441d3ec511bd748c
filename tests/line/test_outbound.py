"""Outbound: every message kind we render passes LINE's OpenAPI check in linesim."""

from __future__ import annotations

import uuid

import httpx
import pytest

from madoguchi.channels.base import (
    Buttons,
    CameraAction,
    CameraRollAction,
    Confirm,
    DatetimePickerAction,
    Flex,
    Image,
    LocationAction,
    MessageAction,
    PostbackAction,
    Sticker,
    Text,
    UriAction,
    transport_for,
)
from madoguchi.channels.line.models import OutboundRequest
from madoguchi.channels.line.render import RenderError, render_messages
from tests.conftest import SIM_TOKEN

USER = "U" + "b" * 32

ALL_ACTIONS = (
    PostbackAction("申し込む", "a=book&id=1", display_text="申し込む"),
    MessageAction("ヘルプ", "ヘルプ"),
    UriAction("市のサイト", "https://www.city.example.jp/"),
    DatetimePickerAction(
        "日付を選ぶ", "a=date", mode="date", initial="2026-12-01", min="2026-11-25", max="2027-03-31"
    ),
    LocationAction("位置情報"),
    CameraAction("カメラ"),
    CameraRollAction("写真を選ぶ"),
)

FLEX = {
    "type": "bubble",
    "body": {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {"type": "text", "text": "粗大ごみ受付", "weight": "bold", "size": "xl"},
            {"type": "text", "text": "収集日: 12月3日 (木)", "wrap": True},
        ],
    },
    "footer": {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {
                "type": "button",
                "style": "primary",
                "action": {"type": "postback", "label": "確定", "data": "a=ok"},
            }
        ],
    },
}

EVERY_KIND = [
    Text("テキスト", quick_replies=ALL_ACTIONS),
    Image("https://example.jp/a.jpg", "https://example.jp/a-small.jpg"),
    Sticker("446", "1988"),
    Buttons(
        "ボタン", "どうしますか?", ALL_ACTIONS[:4], title="粗大ごみ", image_url="https://example.jp/t.jpg"
    ),
    Confirm(
        "確認",
        "この内容で申し込みますか?",
        (PostbackAction("はい", "a=yes"), PostbackAction("いいえ", "a=no")),
    ),
]


@pytest.fixture
def friend(sim, channel):
    """A resident who follows the account (linesim delivers only to friends)."""
    sim.send(USER, {"type": "follow"})
    return USER


@pytest.mark.parametrize("batch", [EVERY_KIND, [Flex("カード", FLEX, quick_replies=ALL_ACTIONS[:2])]])
def test_every_message_kind_passes_the_spec_check(sim, channel, friend, batch):
    transport_for(channel).push(channel, user_id=USER, messages=batch, dedupe_key=f"test:{len(batch)}")
    row = OutboundRequest.objects.get()
    assert row.status == OutboundRequest.Status.SENT, row.error
    received = sim.messages(USER)
    assert [message["type"] for message in received] == [
        message["type"] for message in render_messages(batch)
    ]
    assert all(message["via"] == "push" for message in received)


def test_linesim_refuses_what_the_spec_forbids(sim):
    # The check is real: a request LINE would refuse gets LINE's 400 with details.
    response = httpx.post(
        f"{sim.url}/v2/bot/message/push",
        json={"to": USER, "messages": [{"type": "text"}]},
        headers={"Authorization": f"Bearer {SIM_TOKEN}"},
    )
    assert response.status_code == 400
    assert response.json()["details"]


def test_a_push_is_sent_once_per_dedupe_key(sim, channel, friend):
    transport = transport_for(channel)
    for _ in range(3):
        transport.push(channel, user_id=USER, messages=[Text("一度だけ")], dedupe_key="once")
    assert len(sim.messages(USER)) == 1
    assert OutboundRequest.objects.get().attempts == 1


def test_profile_of_a_stranger_is_none(sim, channel):
    # An id no other test made a friend: linesim keeps its friends from test to test.
    stranger = "U" + uuid.uuid4().hex
    assert transport_for(channel).get_profile(channel, user_id=stranger) is None


@pytest.mark.parametrize(
    "messages",
    [
        [Text("")],
        [Text("あ" * 5001)],
        [Text("x")] * 6,
        [Text("x", quick_replies=(MessageAction("x", "x"),) * 14)],
        [Buttons("a", "b", (MessageAction("ラベルがとても長すぎて二十文字を超えてしまうボタン", "x"),))],
        [Buttons("a", "b", (PostbackAction("x", "d" * 301),))],
        [Buttons("a", "b", (MessageAction("x", "x"),) * 5)],
    ],
    ids=["empty", "too-long", "six", "quick-replies", "label", "postback-data", "five-buttons"],
)
def test_messages_line_would_refuse_fail_before_sending(messages):
    with pytest.raises(RenderError):
        render_messages(messages)
