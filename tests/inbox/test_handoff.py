"""Hand-off to a person: the bot keeps quiet while staff answer, and speaks again after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from madoguchi.chatbot.engine import asks_for_a_person
from madoguchi.chatbot.registry import postback_data
from madoguchi.inbox.models import Conversation, Message
from madoguchi.inbox.services import (
    conversation_close,
    conversation_mark_read,
    conversations_close_idle,
    reply_send,
)
from madoguchi.residents.models import Resident
from tests.conftest import run_tasks

USER = "U" + "a" * 32


def texts(sim, user=USER) -> list[str]:
    return [m.get("text", "") for m in sim.messages(user)]


@pytest.fixture
def staff(transactional_db) -> User:
    return User.objects.create_user("inbox-staff", password="x" * 16)


def _ask_for_a_person(sim, how: str) -> None:
    sim.send(USER, {"type": "follow"})  # LINE pushes only to friends
    if how == "button":
        sim.send(USER, {"type": "postback", "postback": {"data": postback_data("handoff")}})
    else:
        sim.text(USER, "担当者と話したい")
    run_tasks()


@pytest.mark.parametrize("how", ["button", "typed"])
def test_asking_for_a_person_opens_a_conversation_and_the_bot_keeps_quiet(sim, channel, staff, how):
    _ask_for_a_person(sim, how)
    assert "職員におつなぎします" in texts(sim)[-1]
    conversation = Conversation.objects.get()
    assert conversation.status == Conversation.Status.NEW
    assert conversation.origin == Conversation.Origin.RESIDENT
    assert not conversation.is_counseling

    before = len(sim.messages(USER))
    sim.text(USER, "ヘルプ")  # a keyword: the bot would answer, but staff have the conversation
    sim.send(
        USER,
        {
            "type": "message",
            "message": {"type": "location", "latitude": 35.0, "longitude": 135.0, "address": "中央1-1"},
        },
    )
    run_tasks()
    assert len(sim.messages(USER)) == before
    bodies = [m.body for m in conversation.messages.filter(direction=Message.Direction.INBOUND)]
    assert "ヘルプ" in bodies
    assert any("中央1-1" in body for body in bodies)
    if how == "typed":
        assert bodies[0] == "担当者と話したい"  # what they asked with is kept for staff
    conversation.refresh_from_db()
    assert conversation.unread == len(bodies)

    # Staff answer; the reply token of the resident's last message is still fresh: a free reply.
    reply_send(conversation, author=staff, text="担当の山田です。ご用件を伺います。")
    run_tasks()
    last = sim.messages(USER)[-1]
    assert last["text"] == "担当の山田です。ご用件を伺います。"
    assert last["via"] == "reply"
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.assigned_to == staff
    assert conversation.first_response_at is not None
    assert Message.objects.get(direction=Message.Direction.OUTBOUND).delivery == Message.Delivery.SENT

    # Closed: the resident is told, and the bot answers again.
    assert conversation_close(conversation, actor=staff)
    run_tasks()
    assert "自動応答" in texts(sim)[-1]
    sim.text(USER, "ヘルプ")
    run_tasks()
    assert texts(sim)[-1].startswith("知りたいこと")


HANDOFF_PHRASINGS = [
    "担当者と話したいです",
    "人と話したい",
    "オペレーターにつないで",
    "職員さんと話したい",
    "係の人と相談したいのですが。",
    "ｵﾍﾟﾚｰﾀｰにつないでください",
    "I want to talk to a person",
]
NOT_HANDOFF = ["担当課に電話したい", "人口を知りたい", "相談窓口はどこ", "人と話すのが苦手で相談したい"]


def test_requests_for_a_person_in_other_words_open_a_conversation_and_questions_do_not(sim, channel):
    users = {text: "U" + f"{number:032x}" for number, text in enumerate(HANDOFF_PHRASINGS + NOT_HANDOFF)}
    for text, user in users.items():
        sim.send(user, {"type": "follow"})
        sim.text(user, text)
    run_tasks()
    opened = {c.resident.line_user_id: [m.body for m in c.messages.all()] for c in Conversation.objects.all()}
    assert opened == {users[text]: [text] for text in HANDOFF_PHRASINGS}
    for text in HANDOFF_PHRASINGS:
        assert "職員におつなぎします" in texts(sim, users[text])[-1]
    for text in NOT_HANDOFF:
        assert "職員におつなぎします" not in texts(sim, users[text])[-1]


@pytest.mark.parametrize(
    "text", ["粗大ごみの担当者は誰ですか", "職員の採用試験", "相談したい", "人間ドックの補助"]
)
def test_questions_that_name_staff_are_not_requests_for_a_person(text):
    assert not asks_for_a_person(text)


def test_a_second_reply_goes_by_push_when_the_token_was_used(sim, channel, staff):
    _ask_for_a_person(sim, "button")
    sim.text(USER, "質問があります")
    run_tasks()
    conversation = Conversation.objects.get()
    reply_send(conversation, author=staff, text="はい")
    reply_send(conversation, author=staff, text="どうぞ")
    run_tasks()
    first, second = sim.messages(USER)[-2:]
    assert (first["text"], first["via"]) == ("はい", "reply")
    assert (second["text"], second["via"]) == ("どうぞ", "push")


def test_the_resident_can_end_the_conversation(sim, channel):
    _ask_for_a_person(sim, "button")
    sim.send(USER, {"type": "postback", "postback": {"data": postback_data("inbox.end")}})
    run_tasks()
    assert "終了しました" in texts(sim)[-1]
    assert Conversation.objects.get().status == Conversation.Status.CLOSED
    sim.text(USER, "ヘルプ")
    run_tasks()
    assert texts(sim)[-1].startswith("知りたいこと")


def test_a_streak_of_questions_the_bot_cannot_answer_hands_over(sim, channel, settings):
    settings.HANDOFF_AFTER_MISSES = 3
    for question in ("あいうえお", "かきくけこ"):
        sim.text(USER, question)
        run_tasks()
        assert "うまくお答えできませんでした" in texts(sim)[-1]
    assert not Conversation.objects.exists()
    sim.text(USER, "さしすせそ")
    run_tasks()
    assert "職員におつなぎします" in texts(sim)[-1]
    conversation = Conversation.objects.get()
    assert conversation.origin == Conversation.Origin.BOT
    assert [m.body for m in conversation.messages.all()] == ["さしすせそ"]


def test_an_answer_in_between_breaks_the_streak(sim, channel, settings):
    settings.HANDOFF_AFTER_MISSES = 2
    for text in ("あいうえお", "ヘルプ", "かきくけこ"):
        sim.text(USER, text)
        run_tasks()
    assert not Conversation.objects.exists()


def test_an_idle_conversation_closes_and_the_bot_returns(sim, channel, settings):
    _ask_for_a_person(sim, "button")
    sim.text(USER, "よろしく")
    run_tasks()
    Conversation.objects.update(
        last_message_at=timezone.now() - timedelta(hours=settings.INBOX_IDLE_CLOSE_HOURS + 1)
    )
    assert conversations_close_idle() == 1
    run_tasks()
    assert Conversation.objects.get().status == Conversation.Status.CLOSED
    sim.text(USER, "ヘルプ")
    run_tasks()
    assert texts(sim)[-1].startswith("知りたいこと")


def test_outside_office_hours_the_resident_is_told_once_when_it_opens(sim, channel, settings):
    settings.MADOGUCHI_OFFICE_HOURS = "mon-fri 00:00-00:01"  # practically always closed
    _ask_for_a_person(sim, "button")
    assert "受付時間外" in texts(sim)[-1]
    before = len(sim.messages(USER))
    sim.text(USER, "まだですか")
    run_tasks()
    assert len(sim.messages(USER)) == before  # told once per closed period, not at every message


def test_staff_opening_it_marks_the_messages_read_at_line(sim, channel, staff):
    _ask_for_a_person(sim, "button")
    sim.text(USER, "こんにちは、質問です")
    run_tasks()
    conversation = Conversation.objects.get()
    conversation_mark_read(conversation, actor=staff)
    run_tasks()
    conversation.refresh_from_db()
    assert conversation.unread == 0
    assert sim.stats()["endpoints"]["POST /v2/bot/chat/markAsRead"]["requests"] == 1


def test_a_blocked_resident_gets_no_reply_and_staff_see_why(sim, channel, staff):
    _ask_for_a_person(sim, "button")
    conversation = Conversation.objects.get()
    Resident.objects.update(status=Resident.Status.BLOCKED)
    message = reply_send(conversation, author=staff, text="お返事です")
    run_tasks()
    message.refresh_from_db()
    assert message.delivery == Message.Delivery.FAILED
    assert "ブロック" in message.delivery_error


@pytest.mark.parametrize(
    "text",
    ["", " ", "あ" * 5000, "🙇‍♀️🚮", "'; DROP TABLE inbox_message; --", "？！。、", "\u0000null"],
)
def test_hostile_messages_in_a_conversation_are_kept_and_answered_by_silence(sim, channel, text):
    _ask_for_a_person(sim, "button")
    before = len(sim.messages(USER))
    sim.text(USER, text)
    run_tasks()
    assert len(sim.messages(USER)) == before
    [message] = Conversation.objects.get().messages.all()
    assert message.body == text.replace("\x00", "\ufffd")[:5000]
