"""The dispatcher's routing order, with a feature app's postback action, flow and matchers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from madoguchi.channels.base import Text
from madoguchi.chatbot import registry
from madoguchi.chatbot.flows import flow_end, flow_start
from madoguchi.chatbot.models import FlowState
from madoguchi.chatbot.registry import Turn, postback_data
from madoguchi.residents.models import Resident
from tests.conftest import run_tasks

USER = "U" + "f" * 32


class SofaFlow:
    """A two-step flow a feature app might register: asks for a date, then confirms."""

    name = "test.sofa"

    def handle(self, turn: Turn, state: FlowState) -> list:
        if state.step == "ask-date":
            state.step = "confirm"
            state.data["date"] = turn.raw_text
            state.save()
            return [Text(f"{turn.raw_text} でよろしいですか?")]
        flow_end(turn.resident)
        return [Text("受け付けました")]


@pytest.fixture
def feature_app() -> Iterator[None]:
    """Registers like a feature app's AppConfig.ready() would, and unregisters afterwards."""
    saved = (
        dict(registry._postback_actions),
        dict(registry._flows),
        {k: list(v) for k, v in registry._matchers.items()},
    )

    @registry.postback_action("test.sofa")
    def start_sofa(turn: Turn, params: dict[str, str]) -> list:
        flow_start(turn.resident, "test.sofa", "ask-date", {"item": params.get("item", "")})
        return [Text(f"{params.get('item')} の収集日を入力してください")]

    registry.register_flow(SofaFlow())
    registry.register_matcher("operator", lambda turn: [] if turn.text == "担当者と話し中" else None)
    registry.register_matcher(
        "faq", lambda turn: [Text("FAQ: 粗大ごみは予約制です")] if "粗大" in (turn.text or "") else None
    )
    yield
    registry._postback_actions, registry._flows = saved[0], saved[1]
    registry._matchers.clear()
    registry._matchers.update(saved[2])


def texts(sim) -> list[str]:
    return [message["text"] for message in sim.messages(USER)]


def test_routing_order_postback_flow_keyword_operator_faq_fallback(sim, channel, feature_app):
    sim.send(USER, {"type": "postback", "postback": {"data": postback_data("test.sofa", item="ソファー")}})
    run_tasks()
    assert texts(sim)[-1] == "ソファー の収集日を入力してください"
    # In the flow, even a keyword goes to the flow first.
    sim.text(USER, "ヘルプ")
    run_tasks()
    assert texts(sim)[-1] == "ヘルプ でよろしいですか?"
    sim.text(USER, "はい")
    run_tasks()
    assert texts(sim)[-1] == "受け付けました"
    assert not FlowState.objects.exists()
    # Out of the flow: keyword, then the operator stage (quiet), FAQ, fallback.
    for text in ["ヘルプ", "担当者と話し中", "粗大ごみ", "ぜんぜん関係ない"]:
        sim.text(USER, text)
    run_tasks()
    answers = texts(sim)[3:]
    assert answers[0].startswith("知りたいこと")  # keyword
    assert answers[1] == "FAQ: 粗大ごみは予約制です"  # the operator stage kept quiet: no answer
    assert answers[2].startswith("すみません")  # fallback
    assert len(answers) == 3


def test_cancel_word_leaves_a_flow(sim, channel, feature_app):
    sim.send(USER, {"type": "postback", "postback": {"data": postback_data("test.sofa", item="机")}})
    run_tasks()
    sim.text(USER, "キャンセル")
    run_tasks()
    assert texts(sim)[-1] == "手続きを中止しました。"
    assert not FlowState.objects.filter(resident__line_user_id=USER).exists()


def test_an_unknown_postback_gets_the_fallback(sim, channel):
    sim.send(USER, {"type": "postback", "postback": {"data": "a=no.such.action&x=1"}})
    run_tasks()
    assert texts(sim)[-1].startswith("すみません")
    assert Resident.objects.filter(line_user_id=USER).exists()


def test_a_postback_action_cannot_be_registered_twice():
    registry.postback_action("test.once")(lambda turn, params: [])
    with pytest.raises(ValueError, match="twice"):
        registry.postback_action("test.once")(lambda turn, params: [])
    del registry._postback_actions["test.once"]


def test_an_expired_reply_token_falls_back_to_push(sim, channel):
    sim.configure(replyTokenTtl=0)  # LINE refuses every reply token: answer by push
    sim.send(USER, {"type": "follow"})
    sim.text(USER, "ヘルプ")
    run_tasks()
    *greeting, answer = sim.messages(USER)  # the greeting, and the invitation to register
    assert {m["via"] for m in greeting} == {answer["via"]} == {"push"}
    assert answer["text"].startswith("知りたいこと")


def test_the_fallback_offers_a_person(sim, channel):
    sim.text(USER, "ぜんぜん関係ない")
    run_tasks()
    [answer] = sim.messages(USER)
    assert "職員がお答えすることもできます" in answer["text"]
    assert "職員と話す" in [item["action"]["label"] for item in answer["quickReply"]["items"]]
